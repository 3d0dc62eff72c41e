import type { Clock } from '../gateway/clock.ts';
import { skippingPasses } from './skipping-passes.ts';
import type { CentralStorage } from './storage/storage.ts';

export const DAY_MS = 86_400_000;

/**
 * How often expired accuracy reports are deleted, in ms. Hourly, the rate gateways report at: each
 * pass deletes about one row per sensor, and a report outlives its retention by at most an hour.
 */
export const ACCURACY_PRUNE_INTERVAL_MS = 3_600_000;

/**
 * Keeps accuracy reports for `retentionDays` (config accuracyRetentionDays): a pass deletes those
 * whose atMs is more than `retentionDays` before clock.now(). One pass runs at once, so a server
 * restarted more often than hourly still prunes, then one every ACCURACY_PRUNE_INTERVAL_MS on the
 * injected clock. Passes never overlap (a tick during one is skipped). A pass's count goes to
 * `onPruned`, its failure to `onError`, never thrown. stop() waits for a pass in progress, so the
 * storage can be closed right after it.
 */
export function scheduleAccuracyRetention(
  storage: Pick<CentralStorage, 'pruneAccuracyReports'>,
  retentionDays: number,
  clock: Clock,
  onPruned: (deleted: number) => void,
  onError: (err: unknown) => void,
): { stop(): Promise<void> } {
  const passes = skippingPasses(clock, ACCURACY_PRUNE_INTERVAL_MS, () =>
    storage
      .pruneAccuracyReports(clock.now() - retentionDays * DAY_MS)
      .then(onPruned)
      .catch(onError),
  );
  passes.runNow();
  return { stop: () => passes.stop() };
}
