// Types of series.js for the TypeScript tests.
import type { Forecast, Reading } from '../../../types.ts';
import type { MinuteHistory } from '../../messages.ts';

/** [x seconds, rh, forecast rh, interval lower, interval upper], all the same length. */
export declare function chartData(
  readings: readonly Pick<Reading, 'wallTimeMs' | 'rh'>[],
  forecast: Pick<Forecast, 'baseTimeMs' | 'points'> | null,
  history?: Pick<MinuteHistory, 'bucketMs' | 'tMs' | 'rh'> | null,
): [number[], (number | null)[], (number | null)[], (number | null)[], (number | null)[]];
