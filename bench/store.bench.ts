import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ManualClock } from '../gateway/clock.ts';
import { startFlushTimer } from '../gateway/store/flush-timer.ts';
import { SqliteStore } from '../gateway/store/sqlite-store.ts';
import type { Reading } from '../gateway/types.ts';
import { emit } from './figure.ts';

const BENCH = 'store';
const BATCH = 1000;
const BATCHES = 200;
const SENSORS = ['s1', 's2', 's3', 's4'];
const HOUR_S = 3600;

function reading(n: number, wallTimeMs: number): Reading {
  const seq = Math.floor(n / SENSORS.length);
  return { sensorId: SENSORS[n % SENSORS.length] ?? 's1', bootId: 'bench', seq, uptimeMs: seq * 1000, wallTimeMs, rh: 40 + (seq % 300) / 10, tempC: 21.5, quality: [] };
}

/** This process's I/O counters (Linux /proc/self/io): bytes handed to write() and bytes sent to the storage layer. */
function io(): { wchar: number; writeBytes: number } {
  const text = fs.readFileSync('/proc/self/io', 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { wchar: field('wchar'), writeBytes: field('write_bytes') };
}

/** Rows per second through append() + flush() in batches of 1000 (one transaction each), default settings. */
function appendRate(dir: string): void {
  const store = new SqliteStore({ dataDir: dir });
  const t0 = Date.UTC(2026, 0, 1);
  let n = 0;
  const start = performance.now();
  for (let b = 0; b < BATCHES; b++) {
    for (let i = 0; i < BATCH; i++, n++) store.append(reading(n, t0 + n * 250));
    store.flush();
  }
  const seconds = (performance.now() - start) / 1000;
  store.close();
  emit({ bench: BENCH, figure: 'append_rows_per_s', value: n / seconds, unit: 'rows/s', batch: BATCH, rows: n });
}

/**
 * An accelerated hour at 4 sensors x 1 reading/s with default settings: the flush timer fires
 * every 1000 ms of ManualClock time. The close() at the end (its WAL checkpoint writes each page
 * into the main file a second time) is inside the measurement, so the figure is what the card sees.
 */
function bytesPerReading(dir: string, flushIntervalMs: number): void {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const before = io();
  const store = new SqliteStore({ dataDir: dir, clock });
  const stop = startFlushTimer(store, clock, flushIntervalMs, (err) => {
    throw err;
  });
  let n = 0;
  for (let s = 0; s < HOUR_S; s++) {
    for (let i = 0; i < SENSORS.length; i++, n++) store.append(reading(n, clock.now()));
    clock.advance(1000);
  }
  stop();
  store.close();
  fs.readdirSync(dir); // nothing pending in Node's side; SQLite wrote synchronously
  const after = io();
  const extra = { readings: n, flush_interval_ms: flushIntervalMs };
  emit({ bench: BENCH, figure: 'disk_write_bytes_per_reading', value: (after.writeBytes - before.writeBytes) / n, unit: 'bytes/reading', ...extra, source: '/proc/self/io write_bytes' });
  emit({ bench: BENCH, figure: 'write_syscall_bytes_per_reading', value: (after.wchar - before.wchar) / n, unit: 'bytes/reading', ...extra, source: '/proc/self/io wchar' });
}

export async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-bench-store-'));
  try {
    appendRate(path.join(root, 'rate'));
    // The default, then the longer intervals an operator may choose to spare an SD card
    // (store.flushIntervalMs; docs/storage.md): what each costs in writes.
    for (const ms of [1000, 5000, 10_000, 30_000]) bytesPerReading(path.join(root, `hour-${ms}`), ms);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
