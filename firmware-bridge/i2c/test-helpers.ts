import type { ManualClock } from '../../gateway/clock.ts';

/** Lets every pending promise continuation run (simulated transfers settle in microtasks). */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Advances a ManualClock by `ms` in `stepMs` steps, flushing promises after each step, so
 * async code that schedules its next timer after an await (a driver's sleep after a bus write)
 * sees time move the way it would in production.
 */
export async function drive(clock: ManualClock, ms: number, stepMs = 1): Promise<void> {
  await flush();
  for (let t = 0; t < ms; t += stepMs) {
    clock.advance(Math.min(stepMs, ms - t));
    await flush();
  }
}
