import { describe, expect, it } from 'vitest';
import { setMostRecent } from './recent-map.ts';

describe('setMostRecent', () => {
  it('moves a key it sets to the end and drops the least recent beyond the bound', () => {
    const m = new Map<string, number>();
    setMostRecent(m, 'a', 1, 2);
    setMostRecent(m, 'b', 2, 2);
    setMostRecent(m, 'a', 3, 2); // a is now the most recent
    setMostRecent(m, 'c', 4, 2); // drops b, not a
    expect([...m]).toEqual([['a', 3], ['c', 4]]);
  });

  it('shrinks a map that is already over the bound', () => {
    const m = new Map([['a', 1], ['b', 2], ['c', 3]]);
    setMostRecent(m, 'd', 4, 1);
    expect([...m]).toEqual([['d', 4]]);
  });
});
