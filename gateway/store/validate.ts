import type { QualityFlag, Reading } from '../types.ts';
import { DEFAULT_RECENT_LIMIT, MAX_RECENT_LIMIT } from './store.ts';
import { StoreError } from './errors.ts';

const SENSOR_ID = /^[A-Za-z0-9_-]{1,32}$/;
const MAX_BOOT_ID_LENGTH = 64;
export const QUALITY_FLAGS: readonly QualityFlag[] = ['out_of_range', 'stuck', 'spike', 'stale', 'sensor_error'];

function bad(field: string, why: string, value: unknown): never {
  throw new StoreError('STORE_INVALID_READING', `invalid reading: ${field} ${why} (got ${JSON.stringify(value) ?? String(value)})`);
}

function finiteOrNull(field: string, value: unknown): void {
  if (value !== null && (typeof value !== 'number' || !Number.isFinite(value))) bad(field, 'must be a finite number or null', value);
}

/** Throws a StoreError (STORE_INVALID_READING) naming the first bad field. */
export function validateReading(r: Reading): void {
  if (typeof r.sensorId !== 'string' || !SENSOR_ID.test(r.sensorId)) bad('sensorId', 'must be 1-32 characters of A-Z, a-z, 0-9, _ and -', r.sensorId);
  if (typeof r.bootId !== 'string' || r.bootId.length === 0 || r.bootId.length > MAX_BOOT_ID_LENGTH) {
    bad('bootId', `must be a string of 1-${MAX_BOOT_ID_LENGTH} characters`, r.bootId);
  }
  if (!Number.isSafeInteger(r.seq) || r.seq < 0) bad('seq', 'must be a non-negative integer', r.seq);
  // The central server's ingest schema (central/server.ts) takes the same ranges: a reading stored
  // here that it would refuse could only be set aside at sync.
  if (!Number.isSafeInteger(r.uptimeMs) || r.uptimeMs < 0) bad('uptimeMs', 'must be a non-negative integer of ms', r.uptimeMs);
  if (!Number.isSafeInteger(r.wallTimeMs) || r.wallTimeMs < 0) bad('wallTimeMs', 'must be an integer of ms since 1970-01-01T00:00:00Z, not before it', r.wallTimeMs);
  finiteOrNull('rh', r.rh);
  finiteOrNull('tempC', r.tempC);
  if (!Array.isArray(r.quality)) bad('quality', 'must be an array of quality flags', r.quality);
  for (const flag of r.quality) {
    if (!QUALITY_FLAGS.includes(flag)) bad('quality', `has an unknown flag (known: ${QUALITY_FLAGS.join(', ')})`, flag);
  }
}

/** Resolves recent()'s optional limit; throws STORE_INVALID_ARGUMENT when it is not 1..MAX_RECENT_LIMIT. */
export function resolveLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_RECENT_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_RECENT_LIMIT) {
    throw new StoreError('STORE_INVALID_ARGUMENT', `recent(): limit must be an integer from 1 to ${MAX_RECENT_LIMIT} (got ${limit})`);
  }
  return limit;
}

/** Checks an integer option against its range; throws STORE_INVALID_ARGUMENT naming the option. */
export function checkIntOption(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new StoreError('STORE_INVALID_ARGUMENT', `${name} must be an integer from ${min} to ${max} (got ${value})`);
  }
  return value;
}

/** recent()'s sinceMs: any number but NaN (-Infinity means "from the start"). */
export function checkSince(sinceMs: number): number {
  if (typeof sinceMs !== 'number' || Number.isNaN(sinceMs)) {
    throw new StoreError('STORE_INVALID_ARGUMENT', `recent(): sinceMs must be a number of ms since the epoch (got ${String(sinceMs)})`);
  }
  return sinceMs;
}
