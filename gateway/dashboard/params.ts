/**
 * Parsing of HTTP API parameters. A bad parameter throws an ApiError that names it, so a 400
 * tells the caller exactly what to fix; routes.ts turns ApiErrors into JSON replies.
 */

/** Default and maximum `limit` of GET /api/readings/:sensor. */
export const DEFAULT_READINGS_LIMIT = 1000;
export const MAX_READINGS_LIMIT = 10_000;

/** An API error with its HTTP status; `error` is a stable code to branch on. */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly statusCode: 400 | 404 | 503,
    readonly error: 'bad_request' | 'unknown_sensor' | 'no_forecast',
    message: string,
    /** Extra fields of the JSON body (e.g. which parameter was wrong). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }

  body(): Record<string, unknown> {
    return { error: this.error, message: this.message, ...this.details };
  }
}

export function badParameter(parameter: string, message: string): ApiError {
  return new ApiError(400, 'bad_request', message, { parameter });
}

const SENSOR_ID = /^[A-Za-z0-9_-]{1,32}$/;
const DIGITS = /^\d{1,16}$/;

export function parseSensorId(raw: unknown): string {
  if (typeof raw === 'string' && SENSOR_ID.test(raw)) return raw;
  throw badParameter('sensor', `sensor must be 1 to 32 characters of A-Z, a-z, 0-9, "_" or "-", got ${JSON.stringify(raw)}`);
}

/** `since`: ms since the epoch, integer >= 0; absent means 0 (the newest `limit` readings). */
export function parseSince(raw: unknown): number {
  if (raw === undefined) return 0;
  if (typeof raw !== 'string') throw badParameter('since', 'since must be given at most once');
  const value = Number(raw);
  if (!DIGITS.test(raw) || !Number.isSafeInteger(value)) {
    throw badParameter('since', `since must be a time in ms since the Unix epoch (an integer >= 0), got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** `limit`: 1 to MAX_READINGS_LIMIT; absent means DEFAULT_READINGS_LIMIT. */
export function parseLimit(raw: unknown): number {
  if (raw === undefined) return DEFAULT_READINGS_LIMIT;
  if (typeof raw !== 'string') throw badParameter('limit', 'limit must be given at most once');
  const value = Number(raw);
  if (!DIGITS.test(raw) || value < 1 || value > MAX_READINGS_LIMIT) {
    throw badParameter('limit', `limit must be an integer from 1 to ${MAX_READINGS_LIMIT}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** Rejects query parameters a route does not know (a typo like `limt` would otherwise be ignored). */
export function rejectUnknown(query: Record<string, unknown>, known: readonly string[]): void {
  const unknown = Object.keys(query).find((key) => !known.includes(key));
  if (unknown !== undefined) {
    throw badParameter(unknown, `unknown query parameter ${JSON.stringify(unknown)}; known: ${known.join(', ') || 'none'}`);
  }
}
