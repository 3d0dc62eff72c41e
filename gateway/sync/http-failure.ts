import { errorCode } from '../coded-error.ts';
import { SyncError } from './sync-types.ts';

/** Connection-level errors: nothing reached the server's application. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ETIMEDOUT']);

/** Characters of the server's error answer kept in the SyncError's message. */
export const MAX_ANSWER_CHARS = 300;

/**
 * Reads a body as it streams, at most `cap` bytes: past them the body is cancelled at once (a
 * chunked answer declares no length) and `over` is set. A body cut off mid-way ends the read with
 * what arrived and the `error`; callers that need the whole body throw it.
 */
export async function readUpTo(res: Response, cap: number): Promise<{ bytes: Buffer; over: boolean; error?: unknown }> {
  const reader = res.body?.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const next = await reader?.read();
      if (!next || next.done) return { bytes: Buffer.concat(chunks), over: false };
      chunks.push(next.value);
      size += next.value.length;
      if (size > cap) {
        await reader?.cancel().catch(() => undefined);
        return { bytes: Buffer.concat(chunks).subarray(0, cap), over: true };
      }
    }
  } catch (error) {
    return { bytes: Buffer.concat(chunks), over: false, error };
  }
}

/**
 * The start of an error answer's body as text, at most 4 kB of it, so a server answering an error
 * with megabytes costs the gateway no memory. A body cut off mid-way gives what arrived: still the
 * best description of the failure.
 */
export async function answerText(res: Response): Promise<string> {
  return (await readUpTo(res, 4096)).bytes.toString('utf8');
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
