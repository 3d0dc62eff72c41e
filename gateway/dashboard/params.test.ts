import { describe, expect, it } from 'vitest';
import { ApiError, DEFAULT_READINGS_LIMIT, MAX_READINGS_LIMIT, parseLimit, parseSensorId, parseSince, rejectUnknown } from './params.ts';

function failure(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected an ApiError');
}

describe('API parameters', () => {
  it('accepts valid values and applies defaults', () => {
    expect(parseSensorId('kitchen_1-a')).toBe('kitchen_1-a');
    expect(parseSince(undefined)).toBe(0);
    expect(parseSince('1767268800000')).toBe(1767268800000);
    expect(parseLimit(undefined)).toBe(DEFAULT_READINGS_LIMIT);
    expect(parseLimit(String(MAX_READINGS_LIMIT))).toBe(10_000);
    expect(() => rejectUnknown({ since: '1' }, ['since', 'limit'])).not.toThrow();
  });

  it.each([
    [() => parseSensorId('a b'), 'sensor'],
    [() => parseSensorId('x'.repeat(33)), 'sensor'],
    [() => parseSince('1.5'), 'since'],
    [() => parseSince('-1'), 'since'],
    [() => parseSince(['1', '2']), 'since'],
    [() => parseSince('99999999999999999'), 'since'],
    [() => parseLimit('0'), 'limit'],
    [() => parseLimit('10001'), 'limit'],
    [() => parseLimit(''), 'limit'],
    [() => rejectUnknown({ sinse: '1' }, ['since']), 'sinse'],
  ])('rejects bad input with a 400 naming the parameter (%#)', (fn, parameter) => {
    const err = failure(fn);
    expect(err.statusCode).toBe(400);
    expect(err.body()).toMatchObject({ error: 'bad_request', parameter });
    expect(err.message).toContain(parameter);
  });
});
