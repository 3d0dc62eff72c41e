import { trainAndScore } from './retrain-job.ts';
import type { RetrainJob } from './retrain-job.ts';

/**
 * Child-process entry of runRetrainJob (retrain-job.ts): one job in over IPC, one reply out
 * ({ok} or {failed: {code, message}}), then exit.
 */
process.once('message', (job) => {
  let reply: unknown;
  try {
    reply = { ok: trainAndScore(job as RetrainJob) };
  } catch (err) {
    reply = { failed: { code: (err as { code?: string }).code ?? 'error', message: (err as Error).message } };
  }
  process.send?.(reply, () => process.exit(0));
});
