// Types of backoff.js for the TypeScript tests.
export declare const BACKOFF_BASE_MS: number;
export declare const BACKOFF_MAX_MS: number;
export declare function backoffDelayMs(attempt: number, random?: () => number): number;
