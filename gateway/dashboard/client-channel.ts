import type { Clock, TimerHandle } from '../clock.ts';
import { checkOverload } from './backpressure.ts';
import type { BackpressureLimits, Overload } from './backpressure.ts';

/** WebSocket close code 1013 "Try Again Later" (RFC 6455 section 7.4.1, IANA registry). */
export const CLOSE_TRY_AGAIN_LATER = 1013;
/** Default time a dropped client gets to receive its close frame before the socket is destroyed. */
export const DEFAULT_DROP_GRACE_MS = 5000;

/** The part of a `ws` WebSocket the channel uses (a `ws` WebSocket satisfies it). */
export interface ChannelSocket {
  readonly bufferedAmount: number;
  readonly readyState: number;
  send(data: string, cb: (err?: Error) => void): void;
  close(code: number, reason: string): void;
  terminate(): void;
}

const OPEN = 1;

/**
 * One dashboard client's outbound side with a bounded queue. The queue is the set of messages
 * handed to the socket whose write callback has not fired yet (they sit in Node's userland
 * buffer because the kernel buffer is full). When either bound is exceeded the client is
 * dropped with close code 1013 and `onOverload` is called once; the page reconnects and gets a
 * fresh snapshot, which is cheaper than replaying a backlog. A dropped client that does not
 * complete the close handshake within `dropGraceMs` is terminated.
 */
export class ClientChannel {
  private queued = 0;
  private overload: Overload | null = null;
  private graceTimer: TimerHandle | null = null;

  constructor(
    private readonly socket: ChannelSocket,
    private readonly limits: BackpressureLimits,
    private readonly clock: Clock,
    private readonly dropGraceMs: number,
    private readonly onOverload: (reason: Overload) => void,
  ) {}

  /** Messages handed to the socket and not yet written. */
  get queuedMessages(): number {
    return this.queued;
  }

  /** The bound this client exceeded, or null while it keeps up. */
  get droppedFor(): Overload | null {
    return this.overload;
  }

  /** Sends one serialised message; returns false when the client is (or just got) dropped. */
  send(text: string): boolean {
    if (this.overload !== null || this.socket.readyState !== OPEN) return false;
    const overload = checkOverload(this.socket.bufferedAmount, this.queued, this.limits);
    if (overload) {
      this.drop(overload);
      return false;
    }
    this.queued++;
    // The callback fires once the frame reached the kernel, or with an error if the socket
    // closed first; either way the message has left the queue.
    this.socket.send(text, () => {
      this.queued--;
    });
    return true;
  }

  /** Releases the grace timer; call when the socket has closed. */
  dispose(): void {
    if (this.graceTimer) this.clock.clearTimeout(this.graceTimer);
    this.graceTimer = null;
  }

  private drop(reason: Overload): void {
    this.overload = reason;
    this.socket.close(CLOSE_TRY_AGAIN_LATER, `too slow: ${reason}`);
    this.graceTimer = this.clock.setTimeout(() => {
      this.graceTimer = null;
      this.socket.terminate();
    }, this.dropGraceMs);
    this.graceTimer.unref?.();
    this.onOverload(reason);
  }
}
