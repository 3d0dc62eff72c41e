// Types of status.js for the TypeScript tests (the page itself is plain JavaScript, no build step).
import type { OperatorStatus } from '../../messages.ts';

export declare const STATUS_INTERVAL_MS: number;
export declare function statusText(status: OperatorStatus | unknown): string;
