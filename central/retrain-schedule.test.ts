import { describe, expect, it } from 'vitest';
import { ManualClock } from '../gateway/clock.ts';
import type { ModelRegistry } from './registry.ts';
import { scheduleRetraining } from './retrain-schedule.ts';
import type { CentralStorage } from './storage/storage.ts';

/** A registry whose retraining lock is always free (these passes never reach the registry otherwise). */
const registry = { retrainLock: () => ({ release: () => undefined }) } as unknown as ModelRegistry;

describe('scheduleRetraining', () => {
  it('runs a pass every interval on the injected clock and stops cleanly', async () => {
    const clock = new ManualClock();
    let passes = 0;
    // A storage with no sensors: each pass is cheap and yields no runs.
    const storage = { sensors: () => Promise.resolve((passes++, [])) } as unknown as CentralStorage;
    const done: number[] = [];
    const s = scheduleRetraining({ storage, registry, signingKey: null as never, clock, runsFile: '/nonexistent/runs.jsonl' }, 3_600_000, clock, (runs) => done.push(runs.length), (err) => {
      throw err;
    });
    clock.advance(3_599_999);
    expect(passes).toBe(0);
    clock.advance(1);
    await Promise.resolve();
    await new Promise((r) => setImmediate(r));
    clock.advance(3_600_000);
    await new Promise((r) => setImmediate(r));
    expect(passes).toBe(2);
    expect(done).toEqual([0, 0]);
    await s.stop();
    clock.advance(10 * 3_600_000);
    expect(passes).toBe(2);
  });

  it('stop() aborts a pass in progress: no sensor is trained after it', async () => {
    const clock = new ManualClock();
    let listSensors: (v: { gatewayId: string; sensorId: string }[]) => void = () => undefined;
    let readingsRead = 0;
    const storage = {
      sensors: () => new Promise((resolve) => (listSensors = resolve)),
      readings: () => Promise.resolve((readingsRead++, [])),
    } as unknown as CentralStorage;
    const done: number[] = [];
    const s = scheduleRetraining({ storage, registry, signingKey: null as never, clock, runsFile: '/nonexistent/runs.jsonl' }, 1000, clock, (runs) => done.push(runs.length), (err) => {
      throw err;
    });
    clock.advance(1000);
    const stopped = s.stop();
    listSensors([{ gatewayId: 'gw', sensorId: 'a' }, { gatewayId: 'gw', sensorId: 'b' }]);
    await stopped;
    expect(readingsRead).toBe(0);
    expect(done).toEqual([0]);
  });
});
