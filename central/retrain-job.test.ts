import { describe, expect, it } from 'vitest';
import { readCsvColumn } from '../models/csv.ts';
import type { CsvSeries } from '../models/csv.ts';
import { APPLIANCES_CSV } from '../models/test-fixtures.ts';
import { runRetrainJob, trainAndScore } from './retrain-job.ts';
import type { RetrainJob } from './retrain-job.ts';

/**
 * The retraining job runs in a child process (node with tsx), so the central server's event loop
 * keeps serving ingest and model downloads while a candidate trains for minutes.
 */
async function firstRows(rows: number): Promise<CsvSeries> {
  const all = await readCsvColumn(APPLIANCES_CSV, 'RH_1');
  return { ...all, timesMs: all.timesMs.slice(0, rows), values: all.values.slice(0, rows) };
}

const job = (csv: CsvSeries, over: Partial<RetrainJob> = {}): RetrainJob => ({
  csv,
  atMs: Date.UTC(2026, 5, 1),
  version: 'gw-rh1-test',
  kind: 'ridge',
  train: { windowSteps: 36, horizonsS: [600, 3600] },
  holdoutFraction: 0.15,
  production: null,
  ...over,
});

describe('retraining job in a child process (retrain-job.ts)', () => {
  it('trains in another process and returns exactly what the same job returns in this one', async () => {
    const csv = await firstRows(3000);
    const remote = await runRetrainJob(job(csv));
    const local = trainAndScore(job(csv));
    expect(remote.pid).not.toBe(process.pid);
    expect(local.pid).toBe(process.pid);
    expect(remote.candidate.holdoutMae).toEqual(local.candidate.holdoutMae);
    expect(Object.keys(remote.candidate.holdoutMae)).toEqual(['600', '3600']);
    expect(Buffer.from(remote.candidate.bytes).equals(Buffer.from(local.candidate.bytes))).toBe(true);
    expect(remote.contract).toEqual(local.contract);
    expect(remote.trainedUntilMs).toBe(local.trainedUntilMs);
  }, 60_000);

  it('scores the production model it is given on the same holdout', async () => {
    const csv = await firstRows(3000);
    const first = trainAndScore(job(csv));
    const r = await runRetrainJob(job(csv, { production: { version: 'prod-1', bytes: first.candidate.bytes } }));
    // The same data and options: production scores exactly as the new candidate.
    expect(r.production).toEqual({ version: 'prod-1', holdoutMae: r.candidate.holdoutMae, meanMae: r.candidate.meanMae });
  }, 60_000);

  it("rejects with the trainer's error code and message when the job fails", async () => {
    const csv = await firstRows(100);
    await expect(runRetrainJob(job(csv))).rejects.toMatchObject({ code: 'TRAINING_FAILED', message: expect.stringMatching(/usable train windows/) });
  }, 60_000);

  it('kills the child when aborted (server shutdown), rejecting with ABORTED', async () => {
    const csv = await firstRows(6000);
    const abort = new AbortController();
    const pending = runRetrainJob(job(csv, { kind: 'ensemble', train: {} }), { signal: abort.signal });
    abort.abort();
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED', message: expect.stringMatching(/shutting down/) });
  }, 60_000);

  it('kills a job that runs past its time limit, rejecting with TIMEOUT', async () => {
    const csv = await firstRows(6000);
    await expect(runRetrainJob(job(csv, { kind: 'ensemble', train: {} }), { timeoutMs: 300 })).rejects.toMatchObject({ code: 'TIMEOUT', message: 'retraining took longer than 300 ms (retrainTimeoutMs) and was killed' });
  }, 60_000);
});
