import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { SerialPort } from 'serialport';
import { describe, expect, it } from 'vitest';
import { openPtyPair } from '../../device-sim/pty.ts';
import { parseReplayCsv, ReplayDevice } from '../../device-sim/replay-data.ts';
import type { ReplayRow } from '../../device-sim/replay-data.ts';
import { connectDevice } from '../../device-sim/wire.ts';
import { requireTool } from '../../test/prereq.ts';
import { systemClock } from '../clock.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import { SerialSource } from './serial-source.ts';
import { waitFor as pollUntil } from '../../test/wait.ts';
import { cleanupAfterEach } from '../../test/cleanups.ts';

/**
 * Real data through the real path: CSV rows -> ReplayDevice -> LineEncoder -> socat pty ->
 * SerialSource (serialport, LineDecoder, session) -> SqliteStore. Every row must be stored with
 * its value unchanged (at the wire's 2-decimal resolution), and an empty CSV cell must be stored
 * as a sensor_error reading, not skipped.
 */

const socat = requireTool('socat');
const dataDir = path.resolve(import.meta.dirname, '../../../shared/data');

const cleanups = cleanupAfterEach();

/** The shared poll at this file's 20 ms step and 20_000 ms default bound. */
function waitFor(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  return pollUntil(check, what, timeoutMs, 20);
}

async function replayIntoStore(rows: ReplayRow[], sensorId: string, rowStepMs: number) {
  const dir = mkdtempSync(join(tmpdir(), 'hygrocast-replay-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const store = new SqliteStore({ dataDir: dir });
  cleanups.push(() => store.close());
  const pair = await openPtyPair({ socatPath: socat ?? 'socat' });
  cleanups.push(() => pair.close());
  const source = new SerialSource({ path: pair.gatewayPath, dataTimeoutMs: 5000 });
  let received = 0;
  source.on('reading', (r) => {
    store.append(r);
    received += 1;
  });
  cleanups.push(() => source.stop());
  await source.start();
  await waitFor('the gateway to open its end', () => source.linkState() === 'connecting');

  const port = new SerialPort({ path: pair.devicePath, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  cleanups.push(() => new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve())));
  // 4 ms per row: fast, yet well under what the 115200-baud pty carries, so nothing is shed.
  const device = new ReplayDevice({ rows, sensorId, clock: systemClock, speedup: rowStepMs / 4 });
  const wireErrors: Error[] = [];
  const wire = connectDevice(device, port, (err) => wireErrors.push(err));
  cleanups.push(() => wire.disconnect());
  device.start();
  cleanups.push(() => device.stop());
  await waitFor(`${rows.length} readings`, () => received >= rows.length);
  store.flush();
  expect(wireErrors).toEqual([]);
  return { stored: store.recent(sensorId, 0, rows.length + 10), source };
}

describe.skipIf(socat === null)('CSV replay through a pseudo-terminal into SQLite', () => {
  it('stores the first 300 rows of RH_1 and T1 unchanged', async () => {
    const rows = parseReplayCsv(readFileSync(join(dataDir, 'appliances_rh_10min.train.csv'), 'utf8'), { column: 'RH_1', tempColumn: 'T1', maxRows: 300 });
    expect(rows).toHaveLength(300);
    const { stored, source } = await replayIntoStore(rows, 'kitchen', 600_000);
    expect(stored.map((r) => [r.seq, r.rh, r.tempC, r.quality])).toEqual(rows.map((row, i) => [i, row.rh, row.tempC, []]));
    expect(stored[0]?.rh).toBe(47.6); // 47.59666667 in the CSV, 47.60 on the wire
    expect(Object.values(source.rejectedCounts()).reduce((a, b) => a + b, 0)).toBe(0);
  });

  it('turns the missing hours of the air-quality file into sensor_error readings', async () => {
    const rows = parseReplayCsv(readFileSync(join(dataDir, 'airquality_rh_1h.csv'), 'utf8'), { column: 'rh', tempColumn: 'temperature', maxRows: 600 });
    const missing = rows.flatMap((r, i) => (r.rh === null ? [i] : []));
    expect(missing.length).toBeGreaterThanOrEqual(3); // 2004-04-01 14:00..16:00 is a gap in the file
    const { stored } = await replayIntoStore(rows, 'outdoor', 3_600_000);
    expect(stored).toHaveLength(rows.length);
    expect(stored.map((r) => [r.seq, r.rh, r.tempC])).toEqual(rows.map((row, i) => [i, row.rh, row.rh === null ? null : row.tempC]));
    expect(stored.flatMap((r, i) => (r.quality.includes('sensor_error') ? [i] : []))).toEqual(missing);
  });
});
