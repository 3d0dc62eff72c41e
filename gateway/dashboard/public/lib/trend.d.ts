// Types of trend.js for the TypeScript tests (the page itself is plain JavaScript, no build step).
import type { Reading } from '../../../types.ts';

export declare const TREND_WINDOW_MS: number;
export declare const TREND_STEADY_RH: number;

export interface Trend {
  direction: 'up' | 'down' | 'steady';
  /** Newest usable RH minus the oldest usable RH inside the window. */
  deltaRh: number;
  /** Time between those two readings, in ms. */
  spanMs: number;
}

export declare function trend(
  readings: readonly Pick<Reading, 'wallTimeMs' | 'rh' | 'quality'>[],
  windowMs?: number,
  steadyRh?: number,
): Trend | null;

export declare function usable(reading: Pick<Reading, 'rh' | 'quality'>): boolean;
