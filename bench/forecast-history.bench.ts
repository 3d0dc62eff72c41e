import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bucketMeans, FAULTY_FLAGS } from '../models/resample.ts';
import { SqliteStore } from '../gateway/store/sqlite-store.ts';
import { MAX_RECENT_LIMIT } from '../gateway/store/store.ts';
import { emit } from './figure.ts';

const BENCH = 'forecast-history';
/** 25 h of one reading per second: a 24 h model window (144 steps of 10 min) plus the step in progress. */
const SECONDS = 25 * 3600;
const STEP_MS = 600_000;
const WINDOW_STEPS = 145;
const ROUNDS = 20;

/**
 * What one forecast of one sensor costs to read from the SQLite store at 1 reading/s: the
 * model's 24 h window as per-step means from one grouped query (stepAggregates, what the
 * scheduler does), against reading the window's 87 000 readings and averaging them in JavaScript
 * (recent() + bucketMeans, the naive way, which also needs recent()'s limit raised past its
 * default of 10 000 readings: with the default it silently saw the last 2.8 h only).
 */
export async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-bench-history-'));
  try {
    const store = new SqliteStore({ dataDir: dir, maxPendingReadings: 20_000 });
    const t0 = Date.UTC(2026, 0, 1);
    for (let s = 0; s < SECONDS; s++) {
      store.append({ sensorId: 's1', bootId: 'bench', seq: s, uptimeMs: s * 1000, wallTimeMs: t0 + s * 1000, rh: 50 + 10 * Math.sin(s / 13_751), tempC: 21, quality: s % 997 === 0 ? ['spike'] : [] });
      if (s % 5000 === 0) store.flush();
    }
    store.flush();
    const nowMs = t0 + SECONDS * 1000;
    const toMs = Math.ceil(nowMs / STEP_MS) * STEP_MS;
    const fromMs = toMs - WINDOW_STEPS * STEP_MS;
    const aggregate = (): (number | null)[] => store.stepAggregates('s1', { fromMs, toMs, stepMs: STEP_MS, unusableFlags: FAULTY_FLAGS }).map((a) => a.meanRh);
    const naive = (): (number | null)[] => {
      const readings = store.recent('s1', fromMs, MAX_RECENT_LIMIT);
      const points = readings.map((r) => ({ tMs: r.wallTimeMs, rh: r.rh ?? Number.NaN, faulty: r.quality.some((f) => (FAULTY_FLAGS as readonly string[]).includes(f)) }));
      return bucketMeans(points, { stepMs: STEP_MS, startMs: fromMs, steps: WINDOW_STEPS });
    };
    // Both must agree before their times mean anything.
    const a = aggregate();
    const b = naive();
    const worst = Math.max(...a.map((v, i) => Math.abs((v ?? 0) - (b[i] ?? 0))));
    if (!(worst < 1e-9) || a.length !== b.length) throw new Error(`stepAggregates and bucketMeans disagree by ${worst} %RH`);
    const time = (fn: () => unknown): number => {
      fn();
      const start = performance.now();
      for (let i = 0; i < ROUNDS; i++) fn();
      return (performance.now() - start) / ROUNDS;
    };
    const fast = time(aggregate);
    const slow = time(naive);
    const readings = store.recent('s1', fromMs, MAX_RECENT_LIMIT).length;
    emit({ bench: BENCH, figure: 'window_read_ms', value: fast, unit: 'ms', peer: 'recent_plus_js_means', peer_value: slow, readings_in_window: readings, steps: WINDOW_STEPS });
    store.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
