/**
 * The bound that keeps a slow browser tab from stalling the gateway. A tab on a phone over weak
 * Wi-Fi, or a background tab the browser throttles, stops reading; without a bound every reading
 * would pile up in that socket's write buffer until the Pi runs out of memory.
 */

/** Default bound of bytes waiting in a socket's write buffer (ws `bufferedAmount`): 1 MiB. */
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
/** Default bound of messages handed to a socket whose write has not completed yet. */
export const DEFAULT_MAX_QUEUED_MESSAGES = 1000;

export interface BackpressureLimits {
  /** Bytes waiting in the socket's write buffer above which the client is dropped. */
  maxBufferedBytes: number;
  /** Messages not yet written to the kernel at which the client is dropped. */
  maxQueuedMessages: number;
}

/** Which bound a client exceeded. */
export type Overload = 'buffered_bytes' | 'queued_messages';

/**
 * Decides, before one more message is queued, whether the client is too far behind.
 * `bufferedBytes` may exceed the bound by one message (a snapshot can be large): the check is
 * made before sending, so a client is only dropped when it is still behind at the next message.
 */
export function checkOverload(bufferedBytes: number, queuedMessages: number, limits: BackpressureLimits): Overload | null {
  if (bufferedBytes > limits.maxBufferedBytes) return 'buffered_bytes';
  if (queuedMessages >= limits.maxQueuedMessages) return 'queued_messages';
  return null;
}
