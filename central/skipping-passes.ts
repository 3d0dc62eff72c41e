import type { Clock, TimerHandle } from '../gateway/clock.ts';

/**
 * Runs `pass` every `intervalMs` on the injected clock, never two at once: a tick that finds a
 * pass still running is skipped (fixed rate, unlike the gateway's SerialPasses, which waits an
 * interval after each pass: central's jobs are due at wall-clock rates). `pass` must not reject
 * (its errors are the caller's to route). runNow() starts one at once unless one is running or
 * the schedule is stopped; stop() clears the timer and waits for a pass in progress.
 */
export function skippingPasses(clock: Clock, intervalMs: number, pass: () => Promise<void>): { runNow(): void; stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  let stopped = false;
  const runNow = (): void => {
    if (running !== null || stopped) return;
    running = pass().finally(() => {
      running = null;
    });
  };
  const timer: TimerHandle = clock.setInterval(runNow, intervalMs);
  timer.unref?.();
  return {
    runNow,
    async stop() {
      stopped = true;
      clock.clearInterval(timer);
      await running;
    },
  };
}
