import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import type { StoredReading } from '../store/store.ts';
import { backoffDelayMs, coveredUpToId } from './backoff.ts';
import { ReadingRefusedError, SyncError, type SyncAck, type SyncMark, type SyncStatus, type SyncTransport, type UnsyncedSource } from './sync-types.ts';
import { MAX_REFUSED_IN_A_ROW, SyncUplink } from './uplink.ts';

function reading(id: number, sensorId = 's1'): StoredReading {
  return { id, sensorId, bootId: 'b1', seq: id, uptimeMs: id, wallTimeMs: Date.UTC(2026, 0, 1) + id * 1000, rh: 50, tempC: 20, quality: [] };
}

/** A complete in-memory UnsyncedSource with the store's semantics. */
class FakeSource implements UnsyncedSource {
  readonly rows: Array<StoredReading & { synced: boolean }> = [];
  add(n: number, sensorId = 's1'): void {
    for (let i = 0; i < n; i++) this.rows.push({ ...reading(this.rows.length + 1, sensorId), synced: false });
  }
  unsyncedAfter(afterId: number, limit: number): StoredReading[] {
    return this.rows.filter((r) => r.id > afterId && !r.synced).slice(0, limit);
  }
  markSyncedRange(afterId: number, upToId: number): number {
    let n = 0;
    for (const r of this.rows) if (r.id > afterId && r.id <= upToId && !r.synced) (r.synced = true), n++;
    return n;
  }
  unsyncedBacklog(): { count: number; oldestWallMs: number | null } {
    const un = this.rows.filter((r) => !r.synced);
    return { count: un.length, oldestWallMs: un[0]?.wallTimeMs ?? null };
  }
}

/** A server that stores by (sensor, boot, seq) and can be taken down. */
class FakeServer implements SyncTransport {
  readonly stored = new Map<string, number>();
  up = true;
  failWith: SyncError | null = null;
  sends = 0;
  probes = 0;
  /** When set, the answer's marks are replaced (a misbehaving server). */
  marksOverride: SyncMark[] | null = null;
  /** Readings the server refuses, naming the first one's index (central's schema answer). */
  refuse: (r: StoredReading) => boolean = () => false;
  send(readings: readonly StoredReading[]): Promise<SyncAck> {
    this.sends++;
    if (!this.up) return Promise.reject(new SyncError('SYNC_UNREACHABLE', 'ECONNREFUSED'));
    if (this.failWith) return Promise.reject(this.failWith);
    const bad = readings.findIndex((r) => this.refuse(r));
    if (bad >= 0) return Promise.reject(new ReadingRefusedError(bad, `central refused the batch (400): body/readings/${bad}/wallTimeMs must be >= 0`));
    const marks = new Map<string, SyncMark>();
    for (const r of readings) {
      const key = `${r.sensorId}/${r.bootId}/${r.seq}`;
      this.stored.set(key, (this.stored.get(key) ?? 0) + 1);
      marks.set(`${r.sensorId}/${r.bootId}`, { sensorId: r.sensorId, bootId: r.bootId, seq: Math.max(r.seq, marks.get(`${r.sensorId}/${r.bootId}`)?.seq ?? 0) });
    }
    return Promise.resolve({ marks: this.marksOverride ?? [...marks.values()], wireBytes: readings.length * 10 });
  }
  reachable(): Promise<boolean> {
    this.probes++;
    return Promise.resolve(this.up);
  }
  close(): void {}
}

/** Advances the manual clock in small steps, letting promises settle between them. */
async function run(clock: ManualClock, ms: number, stepMs = 10): Promise<void> {
  for (let t = 0; t < ms; t += stepMs) {
    clock.advance(stepMs);
    for (let i = 0; i < 5; i++) await Promise.resolve();
  }
}

function setup(options: Partial<ConstructorParameters<typeof SyncUplink>[0]> = {}) {
  const clock = new ManualClock();
  const source = new FakeSource();
  const server = new FakeServer();
  const statuses: SyncStatus[] = [];
  const uplink = new SyncUplink({ source, transport: server, clock, random: () => 0.999, batchSize: 100, onStatus: (s) => statuses.push(s), ...options });
  return { clock, source, server, uplink, statuses };
}

describe('backoff', () => {
  it('grows exponentially up to the cap, scaled by the jitter', () => {
    expect([1, 2, 3, 4, 10].map((f) => backoffDelayMs(f, 250, 60_000, () => 0.5))).toEqual([125, 250, 500, 1000, 30_000]);
    expect(backoffDelayMs(40, 250, 60_000, () => 0.5)).toBe(30_000);
    expect(backoffDelayMs(5, 250, 60_000, () => 0)).toBe(0);
  });

  it('covers only the prefix the marks reach', () => {
    const batch = [reading(1), reading(2, 's2'), reading(3)];
    expect(coveredUpToId(batch, [{ sensorId: 's1', bootId: 'b1', seq: 3 }, { sensorId: 's2', bootId: 'b1', seq: 2 }])).toBe(3);
    expect(coveredUpToId(batch, [{ sensorId: 's1', bootId: 'b1', seq: 3 }])).toBe(1);
    expect(coveredUpToId(batch, [{ sensorId: 's1', bootId: 'b1', seq: 0 }])).toBe(0);
  });
});

describe('SyncUplink', () => {
  it('drains the backlog in bounded batches and marks only what the server confirmed', async () => {
    const { clock, source, server, uplink } = setup();
    source.add(250);
    uplink.start();
    await run(clock, 100);
    expect(server.sends).toBe(3);
    expect(source.rows.every((r) => r.synced)).toBe(true);
    expect([...server.stored.values()].every((n) => n === 1)).toBe(true);
    expect(uplink.snapshot()).toMatchObject({ state: 'idle', backlog: 0, syncedTotal: 250, consecutiveFailures: 0 });
    await uplink.stop();
  });

  it('marks nothing when the answer does not cover the batch, and re-sends it', async () => {
    const { clock, source, server, uplink } = setup();
    source.add(10);
    server.marksOverride = [{ sensorId: 's1', bootId: 'b1', seq: 4 }];
    uplink.start();
    await run(clock, 20);
    expect(source.rows.filter((r) => r.synced).map((r) => r.id)).toEqual([1, 2, 3, 4]);
    expect(uplink.snapshot().lastErrorCode).toBe('SYNC_BAD_ACK');
    server.marksOverride = null;
    await run(clock, 2000);
    expect(source.rows.every((r) => r.synced)).toBe(true);
    await uplink.stop();
  });

  it('backs off exponentially while the server is down, with the delay drawn from the jitter', async () => {
    const { clock, source, server, uplink } = setup({ probeIntervalMs: 1_000_000 });
    server.up = false;
    source.add(5);
    uplink.start();
    // random() = 0.999: delays ~250, 500, 1000, 2000 ms after failures 1..4 (plus the first try at 0).
    await run(clock, 3800);
    expect(server.sends).toBe(5);
    expect(uplink.snapshot()).toMatchObject({ state: 'backoff', consecutiveFailures: 5, lastErrorCode: 'SYNC_UNREACHABLE', backlog: 5 });
    await uplink.stop();
  });

  it('resumes within 2 s of the server coming back even after the backoff grew to its cap', async () => {
    const { clock, source, server, uplink } = setup();
    server.up = false;
    source.add(5);
    uplink.start();
    await run(clock, 10 * 60_000, 100); // ten minutes down: the backoff is at its 60 s cap
    expect(uplink.snapshot().consecutiveFailures).toBeGreaterThan(8);
    server.up = true;
    const back = clock.monotonic();
    while (!source.rows.every((r) => r.synced) && clock.monotonic() - back < 60_000) await run(clock, 10);
    expect(clock.monotonic() - back).toBeLessThanOrEqual(2000);
    await uplink.stop();
  });

  it('does not cut the backoff short after a 5xx (the server was reachable)', async () => {
    const { clock, source, server, uplink } = setup();
    server.failWith = new SyncError('SYNC_SERVER_ERROR', '503');
    source.add(5);
    uplink.start();
    // Tries at 0, 249, 748, 1747 ms (delays 249, 499, 999, 1998); the next is due at 3745 ms.
    await run(clock, 3000);
    expect(server.sends).toBe(4);
    expect(server.probes).toBe(0);
    server.failWith = null;
    await run(clock, 500);
    expect(source.rows.some((r) => r.synced)).toBe(false); // reachable all along: no early retry
    await run(clock, 500);
    expect(source.rows.every((r) => r.synced)).toBe(true);
    await uplink.stop();
  });

  it('paces batches to the bandwidth cap', async () => {
    const { clock, source, server, uplink } = setup({ maxBytesPerSecond: 1000 });
    source.add(500); // 5 batches of 100 readings = 1000 bytes each: one per second
    uplink.start();
    await run(clock, 2500);
    expect(server.sends).toBe(3);
    await uplink.stop();
  });

  it('sends the readings before one the server refuses, sets that one aside and goes on', async () => {
    const refusedLog: Array<[number, string]> = [];
    const { clock, source, server, uplink } = setup({ onRefused: (r, reason) => refusedLog.push([r.id, reason]) });
    source.add(250);
    server.refuse = (r) => r.id === 42 || r.id === 150;
    uplink.start();
    await run(clock, 200);
    expect(source.rows.every((r) => r.synced)).toBe(true);
    expect(server.stored.size).toBe(248);
    expect([...server.stored.values()].every((n) => n === 1)).toBe(true);
    expect(server.stored.has('s1/b1/42')).toBe(false);
    expect(refusedLog.map(([id]) => id)).toEqual([42, 150]);
    expect(refusedLog[0]?.[1]).toMatch(/wallTimeMs must be >= 0/);
    expect(uplink.snapshot()).toMatchObject({ state: 'idle', backlog: 0, syncedTotal: 248, refusedTotal: 2, consecutiveFailures: 0 });
    await uplink.stop();
  });

  it('stops setting readings aside and backs off when the server refuses reading after reading', async () => {
    const { clock, source, server, uplink } = setup();
    source.add(50);
    server.refuse = () => true;
    uplink.start();
    await run(clock, 500);
    expect(uplink.snapshot()).toMatchObject({ state: 'backoff', refusedTotal: MAX_REFUSED_IN_A_ROW, lastErrorCode: 'SYNC_REJECTED', syncedTotal: 0 });
    expect(source.rows.filter((r) => r.synced)).toHaveLength(MAX_REFUSED_IN_A_ROW);
    // Once the server takes readings again, the rest goes through and nothing more is set aside.
    server.refuse = () => false;
    await run(clock, 120_000, 100);
    expect(uplink.snapshot()).toMatchObject({ refusedTotal: MAX_REFUSED_IN_A_ROW, syncedTotal: 50 - MAX_REFUSED_IN_A_ROW, backlog: 0 });
    await uplink.stop();
  });

  it('refuses nonsense options with the option named', () => {
    expect(() => setup({ batchSize: 0 })).toThrow(/batchSize/);
  });
});
