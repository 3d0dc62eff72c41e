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

  /** Scoring started on a fresh data folder, a memory store and a manual clock at BASE (calibration off). */
  const started = (staleAfterSteps: number): { dataDir: string; store: MemoryStore; clock: ManualClock; bus: GatewayBus } => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-scoring-'));
    const store = new MemoryStore();
    const clock = new ManualClock(BASE);
    const bus = new GatewayBus();
    const scoring = startForecastScoring({ dataDir, store, bus, clock, stepMs: STEP, staleAfterSteps, bandCalibration: { enabled: false, rate: 0.05, maxScale: 10 }, onError: (e) => { throw e; } });
    cleanups.push(() => {
      scoring.stop();
      store.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });
    return { dataDir, store, clock, bus };
  };

  it('scores late (after a restart, at 1 reading/s) against the target step, not a NULL truth', () => {
    const { dataDir, store, clock, bus } = started(1);
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

  it("waits for readings that arrive late (a sensor uploading its buffer every 30 min) before fixing a step's truth", () => {
    // staleAfterSteps 4: readings up to 40 min old are current, so a step is scored 30 min after it ended.
    const { dataDir, store, clock, bus } = started(4);
    bus.emit('forecast', { sensorId: 'zigbee', issuedAtMs: BASE, baseTimeMs: BASE, modelVersion: 'm1', warmingUp: false, points: [{ horizonS: 600, rh: 51, lower: 50, upper: 52 }] });
    const db = new Database(path.join(dataDir, DB_FILE_NAME), { readonly: true });
    cleanups.unshift(() => db.close());
    const scored = (): unknown => db.prepare('SELECT scored_ms IS NOT NULL AS scored, truth FROM forecasts WHERE sensor_id = ?').get('zigbee');
    clock.advance(STEP + 20 * 60_000);
    expect(scored()).toEqual({ scored: 0, truth: null });
    // The upload 25 min after the step: readings stamped every minute inside it.
    clock.advance(5 * 60_000);
    for (let i = 0; i < 10; i++) store.append({ sensorId: 'zigbee', bootId: 'b', seq: i, uptimeMs: i * 60_000, wallTimeMs: BASE + i * 60_000, rh: 47 + (i % 2) * 2, tempC: 20, quality: [] });
    clock.advance(6 * 60_000);
    expect(scored()).toEqual({ scored: 1, truth: 48 });
  });
});
