import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { GatewayBus } from '../events.ts';
import { GatewayMetrics } from '../metrics.ts';
import type { SyncStatus } from '../sync/sync-types.ts';
import { encodeSyncStatus, SyncStatusPublisher, type SyncStatusPayload } from './sync-status.ts';

const T0 = Date.UTC(2026, 0, 1);

function status(over: Partial<SyncStatus> = {}): SyncStatus {
  return { state: 'backoff', backlog: 1200, oldestUnsyncedAgeMs: 93_400, lastSuccessMs: T0 - 60_000, consecutiveFailures: 3, lastErrorCode: 'SYNC_UNREACHABLE', syncedTotal: 500, refusedTotal: 0, ...over };
}

describe('sync status on MQTT', () => {
  it('encodes backlog, oldest unsynced age and last success with units in the names', () => {
    expect(JSON.parse(encodeSyncStatus(status(), T0)) as SyncStatusPayload).toEqual({
      state: 'backoff',
      backlog: 1200,
      oldest_unsynced_age_s: 93,
      last_success: '2025-12-31T23:59:00.000Z',
      consecutive_failures: 3,
      last_error: 'SYNC_UNREACHABLE',
      synced_total: 500,
      refused_total: 0,
      updated_at: '2026-01-01T00:00:00.000Z',
    });
    expect(JSON.parse(encodeSyncStatus(status({ oldestUnsyncedAgeMs: null, lastSuccessMs: null }), T0))).toMatchObject({ oldest_unsynced_age_s: null, last_success: null });
  });

  it('publishes the first status at once, then at most one per interval, always ending with the latest', async () => {
    const clock = new ManualClock(T0);
    const sent: SyncStatusPayload[] = [];
    const pub = new SyncStatusPublisher({
      clock,
      minIntervalMs: 5000,
      onError: (err) => {
        throw err;
      },
      publish: (payload) => {
        sent.push(JSON.parse(payload) as SyncStatusPayload);
        return Promise.resolve();
      },
    });
    pub.update(status({ backlog: 100 }));
    expect(sent.map((s) => s.backlog)).toEqual([100]);
    for (let b = 99; b >= 90; b--) {
      clock.advance(100);
      pub.update(status({ backlog: b }));
    }
    expect(sent).toHaveLength(1);
    clock.advance(5000);
    expect(sent.map((s) => s.backlog)).toEqual([100, 90]);
    clock.advance(60_000);
    expect(sent).toHaveLength(2); // nothing new, nothing re-sent
    pub.update(status({ backlog: 0, state: 'idle' }));
    expect(sent.at(-1)).toMatchObject({ backlog: 0, state: 'idle' });
    pub.update(status({ backlog: 5 }));
    pub.stop();
    clock.advance(10_000);
    expect(sent).toHaveLength(3); // stopped: the pending one is dropped
    await Promise.resolve();
  });

  it('routes a failed publish to onError', async () => {
    const errors: unknown[] = [];
    const pub = new SyncStatusPublisher({ clock: new ManualClock(T0), onError: (err) => errors.push(err), publish: () => Promise.reject(new Error('broker closed')) });
    pub.update(status());
    await new Promise((r) => setImmediate(r));
    expect(errors).toHaveLength(1);
  });
});

describe('sync backlog gauge', () => {
  it('reads the uplink backlog at scrape time', async () => {
    let backlog = 0;
    const metrics = new GatewayMetrics({
      bus: new GatewayBus(),
      clock: new ManualClock(T0),
      processMetrics: false,
      sources: { storeStats: () => null, brokerClients: () => null, dashboard: () => null, model: () => null, syncBacklog: () => backlog },
    });
    backlog = 4321;
    expect((await metrics.render()).body).toMatch(/^hygrocast_sync_backlog_readings 4321$/m);
    backlog = 0;
    expect((await metrics.render()).body).toMatch(/^hygrocast_sync_backlog_readings 0$/m);
  });
});
