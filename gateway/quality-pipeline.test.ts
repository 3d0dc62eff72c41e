import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.ts';
import { GatewayBus } from './events.ts';
import { createLogger } from './log.ts';
import { ReadingPipeline } from './pipeline.ts';
import { QualityChecker } from './quality.ts';
import type { ReadingSource, SourceEvents } from './sources/source.ts';
import { MemoryStore } from './store/memory-store.ts';
import type { Reading } from './types.ts';

const silent = createLogger('fatal', new Writable({ write: (_c, _e, done) => done() }));

class FakeSource extends EventEmitter<SourceEvents> implements ReadingSource {
  readonly name = 'fake:1';
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  rejectedCounts(): Record<string, number> {
    return {};
  }
}

describe('ReadingPipeline with quality flags', () => {
  it('stores and announces each reading with its flags, and flags the first reading after a link gap as stale', () => {
    const clock = new ManualClock();
    const store = new MemoryStore();
    const bus = new GatewayBus();
    const announced: Reading[] = [];
    bus.on('reading', (r) => announced.push(r));
    const pipeline = new ReadingPipeline(store, bus, silent, new QualityChecker({ clock, spikeThresholdRh: 10 }));
    const source = new FakeSource();
    pipeline.attach(source);
    const emit = (seq: number, rh: number): void => {
      source.emit('reading', { sensorId: 'k', bootId: 'B', seq, uptimeMs: seq * 1000, wallTimeMs: clock.now(), rh, tempC: 20, quality: [] });
    };
    source.emit('link', 'up', 'receiving');
    emit(0, 40);
    emit(1, 60); // spike
    source.emit('link', 'down', 'port closed');
    source.emit('link', 'up', 'receiving');
    emit(2, 60.5); // first after the gap, and still far from the last good reading (40)
    emit(3, 60.4); // the third reading near 60: a real level change, accepted
    const expected = [[], ['spike'], ['stale', 'spike'], []];
    expect(announced.map((r) => r.quality)).toEqual(expected);
    store.flush();
    expect(store.recent('k', 0).map((r) => r.quality)).toEqual(expected);
  });

  it('announces a reading the device resends (a duplicate) only once', () => {
    const store = new MemoryStore();
    const bus = new GatewayBus();
    const announced: number[] = [];
    bus.on('reading', (r) => announced.push(r.seq));
    const pipeline = new ReadingPipeline(store, bus, silent);
    const source = new FakeSource();
    pipeline.attach(source);
    for (const seq of [0, 1, 1, 2, 0]) source.emit('reading', { sensorId: 'k', bootId: 'B', seq, uptimeMs: seq * 1000, wallTimeMs: 1000 * seq, rh: 50, tempC: 20, quality: [] });
    expect(announced).toEqual([0, 1, 2]);
    expect(store.stats().duplicates).toBe(2);
  });
});
