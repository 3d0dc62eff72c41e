import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DashboardData } from '../gateway/dashboard/data.ts';
import { buildSnapshot, DEFAULT_SNAPSHOT_FETCH_LIMIT, DEFAULT_SNAPSHOT_MAX_POINTS, DEFAULT_SNAPSHOT_WINDOW_MS } from '../gateway/dashboard/snapshot.ts';
import type { SnapshotLimits } from '../gateway/dashboard/snapshot.ts';
import { SqliteHistory } from '../gateway/sqlite-history.ts';
import { SqliteStore } from '../gateway/store/sqlite-store.ts';
import { emit } from './figure.ts';

const BENCH = 'dashboard-snapshot';
const SENSORS = ['s1', 's2'];
/** 25 h at one reading per second per sensor: the 24 h snapshot reads all of it. */
const SECONDS = 25 * 3600;
const ROUNDS = 10;

/** The part of the gateway's DashboardData a snapshot reads, answered by the SQLite store. */
function storeData(store: SqliteStore, history: SqliteHistory | null): DashboardData {
  return {
    ...(history ? { history: (id: string, since: number, until: number, bucket: number) => history.minuteMeans(id, since, until, bucket) } : {}),
    gatewayInfo: () => ({ id: 'bench', version: '0', model: null, startedAtMs: 0 }),
    sensorIds: () => store.sensors(),
    readings: (id, since, limit) => store.recent(id, since, limit),
    latestForecast: () => null,
    lastNoForecast: () => null,
    linkStates: () => ({}),
    sensorSource: () => null,
  };
}

function measure(data: DashboardData, nowMs: number, limits: SnapshotLimits): { ms: number; bytes: number } {
  let bytes = 0;
  const start = performance.now();
  for (let i = 0; i < ROUNDS; i++) bytes = Buffer.byteLength(JSON.stringify(buildSnapshot(data, nowMs, limits)));
  return { ms: (performance.now() - start) / ROUNDS, bytes };
}

/**
 * Time and size of the snapshot a browser gets on connect, from a SQLite store holding 25 h of
 * 1 Hz readings of two sensors: the 24 h snapshot (last hour raw + per-minute history) with the
 * means from one SQL aggregate (SqliteHistory, what the gateway does), against averaging 90 000
 * readings per sensor in JavaScript (the fallback) and against the 1 h snapshot the dashboard
 * sent before. All are built on the event loop: the time is how long one connecting tab holds
 * up everything else.
 */
export async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-bench-snap-'));
  try {
    const store = new SqliteStore({ dataDir: dir, maxPendingReadings: 20_000 });
    const t0 = Date.UTC(2026, 0, 1);
    for (let s = 0; s < SECONDS; s++) {
      for (const sensorId of SENSORS) {
        store.append({ sensorId, bootId: 'bench', seq: s, uptimeMs: s * 1000, wallTimeMs: t0 + s * 1000, rh: 50 + 10 * Math.sin(s / 13_751), tempC: 21, quality: [] });
      }
      if (s % 5000 === 0) store.flush();
    }
    store.flush();
    const nowMs = t0 + (SECONDS - 1) * 1000;
    const history = new SqliteHistory(dir);
    const base = { windowMs: DEFAULT_SNAPSHOT_WINDOW_MS, fetchLimit: DEFAULT_SNAPSHOT_FETCH_LIMIT, maxPoints: DEFAULT_SNAPSHOT_MAX_POINTS };
    const day = measure(storeData(store, history), nowMs, base);
    const dayJs = measure(storeData(store, null), nowMs, base);
    // The old snapshot: one hour, no history before it.
    const hour = measure(storeData(store, null), nowMs, { ...base, historyWindowMs: DEFAULT_SNAPSHOT_WINDOW_MS, historyFetchLimit: 1 });
    const extra = { sensors: SENSORS.length, readings_per_sensor: SECONDS };
    emit({ bench: BENCH, figure: 'snapshot_24h_build_ms', value: day.ms, unit: 'ms', peer: 'js_averaging', peer_value: dayJs.ms, ...extra });
    emit({ bench: BENCH, figure: 'snapshot_24h_build_ms', value: day.ms, unit: 'ms', peer: 'snapshot_1h', peer_value: hour.ms, ...extra });
    emit({ bench: BENCH, figure: 'snapshot_24h_bytes', value: day.bytes, unit: 'bytes', peer: 'snapshot_1h', peer_value: hour.bytes, ...extra });
    history.close();
    store.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
