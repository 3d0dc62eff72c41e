// Types of history.js for the TypeScript tests and the server.
import type { Reading } from '../../../types.ts';
import type { MinuteHistory } from '../../messages.ts';

export declare const HISTORY_WINDOW_MS: number;
export declare const HISTORY_BUCKET_MS: number;
export declare function emptyHistory(bucketMs?: number): MinuteHistory;
export declare function foldReadings(history: MinuteHistory, readings: readonly Pick<Reading, 'wallTimeMs' | 'rh' | 'quality'>[]): MinuteHistory;
export declare function trimHistory(history: MinuteHistory, sinceMs: number): MinuteHistory;
export declare function bucketMeans(readings: readonly Pick<Reading, 'wallTimeMs' | 'rh' | 'quality'>[], bucketMs?: number): MinuteHistory;
export declare function isHistory(v: unknown): v is MinuteHistory;
