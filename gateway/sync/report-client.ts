import { SyncError } from './sync-types.ts';

export interface ReportClientOptions {
  /** Base URL of the central server. */
  url: string;
  token: string;
  /** Time to wait for the server's answer, in ms. */
  timeoutMs: number;
}

/** Characters of the server's error answer kept in the rejection message. */
const MAX_ANSWER_CHARS = 300;

/**
 * POST /v1/reports (central/server.ts) with one report. Resolves when the server stored it
 * (201); rejects only with a SyncError: SYNC_UNREACHABLE, SYNC_TIMEOUT, SYNC_SERVER_ERROR (5xx,
 * worth retrying) or SYNC_REJECTED (4xx: the server refuses this report and will again; its
 * `{ code, message }` answer is in the message).
 */
export async function postReport(o: ReportClientOptions, report: object): Promise<void> {
  const origin = new URL(o.url).origin;
  let res: Response;
  try {
    res = await fetch(new URL('/v1/reports', o.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${o.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(report),
      signal: AbortSignal.timeout(o.timeoutMs),
    });
  } catch (err) {
    const timedOut = (err as Error).name === 'TimeoutError';
    throw new SyncError(timedOut ? 'SYNC_TIMEOUT' : 'SYNC_UNREACHABLE', timedOut ? `no answer from ${origin} within ${o.timeoutMs} ms` : `cannot reach ${origin}: ${(err as Error).message}`, { cause: err });
  }
  if (res.status === 201) return;
  const answer = (await res.text().catch(() => '')).slice(0, MAX_ANSWER_CHARS);
  if (res.status >= 500) throw new SyncError('SYNC_SERVER_ERROR', `central answered ${res.status}: ${answer}`);
  throw new SyncError('SYNC_REJECTED', `central refused the report (${res.status}): ${answer}`);
}
