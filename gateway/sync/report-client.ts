import { answerText, syncErrorOf } from './http-failure.ts';

export interface ReportClientOptions {
  /** Base URL of the central server. */
  url: string;
  token: string;
  /** Time to wait for the server's answer, in ms. */
  timeoutMs: number;
}

/**
 * POST /v1/reports (central/server.ts) with one report. Resolves when the server stored it
 * (201); rejects only with a SyncError: SYNC_UNREACHABLE, SYNC_TIMEOUT, SYNC_SERVER_ERROR (5xx,
 * worth retrying) or SYNC_REJECTED (4xx: the server refuses this report and will again; its
 * `{ code, message }` answer is in the message).
 */
export async function postReport(o: ReportClientOptions, report: object): Promise<void> {
  const request = { origin: new URL(o.url).origin, what: 'the report', timeoutMs: o.timeoutMs };
  let res: Response;
  try {
    res = await fetch(new URL('/v1/reports', o.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${o.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(report),
      signal: AbortSignal.timeout(o.timeoutMs),
    });
  } catch (err) {
    throw syncErrorOf({ error: err }, request);
  }
  if (res.status === 201) return;
  throw syncErrorOf({ status: res.status, answer: await answerText(res) }, request);
}
