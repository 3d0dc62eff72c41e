import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { startStoreStatus } from './store-status.ts';
import type { StoreStats } from './store.ts';

describe('store status on MQTT', () => {
  it('publishes the eviction counters retained on <prefix>/bridge/store at start and every interval, until stopped', () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 20));
    const sent: Array<{ topic: string; retain: boolean; payload: Record<string, unknown> }> = [];
    let thinned = 5;
    const stats = (): StoreStats => ({
      readings: 10, bytes: 4096, pending: 1, flushes: 3, duplicates: 0, dropped: 0,
      evictions: { thinned, dropped_synced: 2, dropped_unsynced: 0 }, writeError: 'SQLITE_FULL',
    });
    const errors: unknown[] = [];
    const stop = startStoreStatus({
      aedes: { publish: (packet, done) => { sent.push({ topic: packet.topic, retain: packet.retain, payload: JSON.parse(String(packet.payload)) as Record<string, unknown> }); done(); } },
      prefix: 'home/hygro',
      clock,
      stats,
      retentionBytes: 1 << 20,
      intervalMs: 60_000,
      onError: (e) => errors.push(e),
    });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      topic: 'home/hygro/bridge/store',
      retain: true,
      payload: { readings: 10, retention_bytes: 1 << 20, evictions: { thinned: 5, dropped_synced: 2, dropped_unsynced: 0 }, write_error: 'SQLITE_FULL' },
    });
    thinned = 9;
    clock.advance(60_000);
    expect(sent).toHaveLength(2);
    expect(sent[1]?.payload.evictions).toEqual({ thinned: 9, dropped_synced: 2, dropped_unsynced: 0 });
    stop();
    clock.advance(120_000);
    expect(sent).toHaveLength(2);
    expect(errors).toEqual([]);
  });
});
