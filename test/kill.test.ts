import fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { startGatewayProcess } from './gateway-process.ts';

/** 50 as the issue asks; HYGROCAST_KILLS=3 for a quick local run. */
const KILLS = Number(process.env.HYGROCAST_KILLS ?? 50);
const SENSORS = ['k1', 'k2'];
const INTERVAL_MS = 100;
const FLUSH_INTERVAL_MS = 500;
/**
 * Readings one flush interval produces across all sensors, plus one per sensor for a reading
 * accepted in the same tick as the kill: the most a SIGKILL may cost.
 */
const MAX_LOST_PER_KILL = (FLUSH_INTERVAL_MS / INTERVAL_MS + 1) * SENSORS.length;

interface Accepted {
  sensorId: string;
  bootId: string;
  seq: number;
}

/**
 * The gateway killed with SIGKILL at random moments while two simulated sensors stream at
 * 10 readings/s each, 50 times on the same data folder. Every restart must open the database
 * cleanly and pass PRAGMA integrity_check; within a boot the stored seq numbers have no gap;
 * and of the readings the gateway logged as accepted, at most one flush interval's worth
 * (the tail) is missing. Each start uses a new seed, so each run is a new boot of each sensor.
 */
describe('SIGKILL at random moments', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hygrocast-kill-'));
  const dataDir = path.join(dir, 'data');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(`survives ${KILLS} kills with an intact database and at most one flush interval lost each time`, async () => {
    const file = path.join(dataDir, 'hygrocast.db');
    const losses: number[] = [];
    for (let run = 1; run <= KILLS; run++) {
      const gw = await startGatewayProcess({
        dataDir,
        log: { level: 'trace' },
        sources: [{ type: 'sim', sensors: SENSORS, intervalMs: INTERVAL_MS, seed: run }],
        store: { flushIntervalMs: FLUSH_INTERVAL_MS },
        mqtt: { enabled: false },
        dashboard: { enabled: false },
        forecast: { enabled: false },
        clock: { trusted: 'always' },
      });
      try {
        // The previous kill left a database that opened cleanly, or the gateway would not have started.
        expect(gw.logs.some((l) => typeof l.msg === 'string' && l.msg.includes('damaged'))).toBe(false);
        await new Promise((r) => setTimeout(r, 300 + Math.random() * 1200));
        await gw.stop('SIGKILL');
      } finally {
        gw.cleanup();
      }
      const accepted = gw.logs.filter((l) => l.msg === 'reading accepted') as unknown as Accepted[];
      losses.push(checkRun(file, accepted));
    }
    process.stderr.write(`readings lost per kill: ${losses.join(',')}\n`);
    // The kills landed at different moments: some lost nothing, and none lost more than the bound.
    expect(Math.max(...losses)).toBeLessThanOrEqual(MAX_LOST_PER_KILL);
    expect(losses.length).toBe(KILLS);
  }, 15 * 60_000);
});

/** Checks the file after one kill; returns how many accepted readings of this run are missing. */
function checkRun(file: string, accepted: Accepted[]): number {
  expect(fs.existsSync(file)).toBe(true);
  const db = new Database(file);
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    let lost = 0;
    for (const sensorId of SENSORS) {
      const mine = accepted.filter((a) => a.sensorId === sensorId);
      const bootId = mine[0]?.bootId;
      if (bootId === undefined) continue;
      const stored = db.prepare('SELECT seq FROM readings WHERE sensor_id = ? AND boot_id = ? ORDER BY seq').pluck().all(sensorId, bootId) as number[];
      // No gap inside what was stored: batches are whole or absent, in order.
      if (stored.length > 0) expect(stored.at(-1)! - stored[0]! + 1).toBe(stored.length);
      const storedSet = new Set(stored);
      const missing = mine.filter((a) => !storedSet.has(a.seq)).map((a) => a.seq);
      // Only a tail may be missing: everything lost was accepted after everything kept.
      if (missing.length > 0 && stored.length > 0) expect(Math.min(...missing)).toBeGreaterThan(stored.at(-1)!);
      lost += missing.length;
    }
    expect(lost, `readings lost by one kill (bound ${MAX_LOST_PER_KILL})`).toBeLessThanOrEqual(MAX_LOST_PER_KILL);
    return lost;
  } finally {
    db.close();
  }
}
