import { errorCode } from '../coded-error.ts';
import { SyncError } from './sync-types.ts';

/** Connection-level errors: nothing reached the server's application. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ETIMEDOUT']);

/** Characters of the server's error answer kept in the SyncError's message. */
export const MAX_ANSWER_CHARS = 300;

/**
 * The start of an error answer's body as text: reading stops (and the body is cancelled) after
 * 4 kB, so a server answering an error with megabytes costs the gateway no memory.
 */
export async function answerText(res: Response): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < 4096) {
      const { done, value } = await reader.read();
      if (done) return Buffer.concat(chunks).toString('utf8');
      chunks.push(value);
      size += value.length;
    }
    await reader.cancel();
  } catch {
    // A body cut off mid-way: what arrived is still the best description of the failure.
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, 4096);
}

/** How one request to the central server failed. */
export type HttpFailure =
  /** The server answered with another status than the request's success status. */
  | { status: number; answer: string }
  /** No answer: the request failed (node:http or fetch), or an error named TimeoutError (AbortSignal.timeout's) ended it. */
  | { error: unknown };

export interface CentralRequest {
  /** Origin of the central server, for the message. */
  origin: string;
  /** What was sent, for the message: 'the batch', 'the report'. */
  what: string;
  /** The request's timeout, in ms, for the message. */
  timeoutMs: number;
}

/**
 * The SyncError of a failed request to the central server, the same for every sync client:
 * a 5xx answer is SYNC_SERVER_ERROR (the server is up but could not store it: worth retrying),
 * any other answer SYNC_REJECTED (the server refuses it and will again; its answer is in the
 * message), a timeout SYNC_TIMEOUT, and every other error SYNC_UNREACHABLE. A SyncError (e.g. an
 * answer too large to read) is returned as it is.
 */
export function syncErrorOf(failure: HttpFailure, request: CentralRequest): SyncError {
  if ('status' in failure) {
    const answer = failure.answer.slice(0, MAX_ANSWER_CHARS);
    if (failure.status >= 500) return new SyncError('SYNC_SERVER_ERROR', `central answered ${failure.status}: ${answer}`);
    return new SyncError('SYNC_REJECTED', `central refused ${request.what} (${failure.status}): ${answer}`);
  }
  const err = failure.error;
  if (err instanceof SyncError) return err;
  if (err instanceof Error && err.name === 'TimeoutError') return new SyncError('SYNC_TIMEOUT', `no answer from ${request.origin} within ${request.timeoutMs} ms`, { cause: err });
  // fetch wraps the socket's error: TypeError('fetch failed', { cause }).
  const code = errorCode(err) ?? errorCode(err instanceof Error ? err.cause : undefined) ?? '';
  // A reset mid-request may come after the server committed: the re-send is then a harmless duplicate.
  if (UNREACHABLE.has(code)) return new SyncError('SYNC_UNREACHABLE', `cannot reach ${request.origin} (${code})`, { cause: err });
  return new SyncError('SYNC_UNREACHABLE', `request to ${request.origin} failed: ${describe(err)}`, { cause: err });
}

/** The error's message, and its cause's ("fetch failed" alone says little). */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message;
}
