import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { GatewayBus } from '../events.ts';
import { MemoryStore } from '../store/memory-store.ts';
import { DB_FILE_NAME } from '../store/sqlite-store.ts';
import { DEFAULT_RECENT_LIMIT } from '../store/store.ts';
import { startForecastScoring } from './start-scoring.ts';

const STEP = 600_000;
const BASE = Date.UTC(2026, 0, 1, 12);

describe('startForecastScoring', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it('scores late (after a restart, at 1 reading/s) against the target step, not a NULL truth', () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-scoring-'));
    const store = new MemoryStore();
    const clock = new ManualClock(BASE);
    const bus = new GatewayBus();
    const scoring = startForecastScoring({ dataDir, store, bus, clock, stepMs: STEP, bandCalibration: { enabled: false, rate: 0.05, maxScale: 10 }, onError: (e) => { throw e; } });
    cleanups.push(() => {
      scoring.stop();
      store.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });
    bus.emit('forecast', { sensorId: 'attic', issuedAtMs: BASE, baseTimeMs: BASE, modelVersion: 'm1', warmingUp: false, points: [{ horizonS: 600, rh: 51, lower: 50, upper: 52 }] });
    // The gateway was down while the target step [BASE, BASE + STEP) ended; since then 1 Hz
    // readings have piled up: many more than recent()'s default limit after the step.
    const readings = 4 * DEFAULT_RECENT_LIMIT;
    for (let i = 0; i < readings; i++) {
      const t = BASE + i * 1000;
      store.append({ sensorId: 'attic', bootId: 'b', seq: i, uptimeMs: i * 1000, wallTimeMs: t, rh: t < BASE + STEP ? 48 + (i % 2) : 60, tempC: 20, quality: [] });
    }
    clock.advance(STEP + 60_000); // the scoring timer runs every minute
    const db = new Database(path.join(dataDir, DB_FILE_NAME), { readonly: true });
    cleanups.unshift(() => db.close());
    expect(db.prepare('SELECT truth FROM forecasts WHERE sensor_id = ?').pluck().get('attic')).toBe(48.5);
  });
});
