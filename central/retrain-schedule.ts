import type { Clock, TimerHandle } from '../gateway/clock.ts';
import { retrainAll, type RetrainOptions, type RunRecord } from './retrain.ts';

/**
 * Runs retrainAll every `intervalMs` on the injected clock; a pass still running when the next is
 * due is not overlapped (that tick is skipped). Failures of a pass go to `onError`, never thrown.
 */
export function scheduleRetraining(
  options: RetrainOptions,
  intervalMs: number,
  clock: Clock,
  onRuns: (runs: RunRecord[]) => void,
  onError: (err: unknown) => void,
): { stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  const timer: TimerHandle = clock.setInterval(() => {
    if (running !== null) return;
    running = retrainAll(options)
      .then(onRuns, onError)
      .finally(() => {
        running = null;
      });
  }, intervalMs);
  timer.unref?.();
  return {
    async stop() {
      clock.clearInterval(timer);
      await running;
    },
  };
}
