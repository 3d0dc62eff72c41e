import type { Clock } from '../gateway/clock.ts';
import { skippingPasses } from './skipping-passes.ts';
import { retrainAll, type RetrainOptions, type RunRecord } from './retrain.ts';

/**
 * Runs retrainAll every `intervalMs` on the injected clock; a pass still running when the next is
 * due is not overlapped (that tick is skipped). Failures of a pass go to `onError`, never thrown.
 * stop() kills a training in progress (its run is logged as failed, ABORTED) instead of waiting
 * minutes for it.
 */
export function scheduleRetraining(
  options: RetrainOptions,
  intervalMs: number,
  clock: Clock,
  onRuns: (runs: RunRecord[]) => void,
  onError: (err: unknown) => void,
): { stop(): Promise<void> } {
  const abort = new AbortController();
  const passes = skippingPasses(clock, intervalMs, () => retrainAll({ ...options, signal: abort.signal }).then(onRuns, onError));
  return {
    async stop() {
      const done = passes.stop();
      abort.abort();
      await done;
    },
  };
}
