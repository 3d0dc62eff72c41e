import { describe, expect, it } from 'vitest';
import { MemoryStore } from './memory-store.ts';
import { reading } from './store.contract.ts';

describe('MemoryStore', () => {
  it('keeps at most maxReadings, evicting the oldest', () => {
    const store = new MemoryStore({ maxReadings: 3 });
    for (let i = 1; i <= 5; i++) store.append(reading(i));
    store.flush();
    expect(store.stats().readings).toBe(3);
    expect(store.recent('kitchen', 0).map((r) => r.seq)).toEqual([3, 4, 5]);
  });

  it('rejects a bad bound', () => {
    expect(() => new MemoryStore({ maxReadings: -1 })).toThrow(/maxReadings/);
  });
});
