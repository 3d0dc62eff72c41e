import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../gateway/clock.ts';
import { SEQ_MAX, STATUS } from '../firmware-bridge/messages.ts';
import type { Message, ReadingMessage } from '../firmware-bridge/messages.ts';
import type { SimulatedDeviceEvents } from './simulator.ts';

/**
 * Replay of a real humidity CSV (../shared/data/*.csv: a `timestamp` column in ISO local time,
 * then one column per series) as firmware readings. An empty cell is a missing measurement and
 * becomes a reading with status 1 (read failed) and no values, as real firmware reports a failed
 * read: the gateway turns it into a `sensor_error` reading, never a silent gap.
 */

/** Rows read at most (bounded: the largest shared file has 13,814 rows). Default for maxRows. */
export const DEFAULT_MAX_REPLAY_ROWS = 100_000;

export interface ReplayRow {
  /** Row time, ms since the epoch (the CSV's local time read as UTC: only differences matter). */
  timeMs: number;
  /** %RH rounded to the wire's 2 decimals; null when the cell is empty. */
  rh: number | null;
  /** Degrees C rounded to 2 decimals; null when the cell is empty or no temperature column was asked for. */
  tempC: number | null;
}

export interface ReplayCsvOptions {
  /** Humidity column name, e.g. "RH_1" or "rh". */
  column: string;
  /** Temperature column name, e.g. "T1"; omitted means readings carry no temperature. */
  tempColumn?: string;
  /** Stop after this many data rows. Default DEFAULT_MAX_REPLAY_ROWS. */
  maxRows?: number;
}

/** Error with a code to branch on: ECSV_COLUMN (named column absent), ECSV_VALUE (a cell is not a number or time). */
export class ReplayError extends Error {
  override readonly name = 'ReplayError';
  constructor(
    readonly code: 'ECSV_COLUMN' | 'ECSV_VALUE',
    message: string,
  ) {
    super(message);
  }
}

/** Parses CSV text into rows; throws ReplayError naming the column, line and cell that is wrong. */
export function parseReplayCsv(text: string, options: ReplayCsvOptions): ReplayRow[] {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').split(',');
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new ReplayError('ECSV_COLUMN', `column "${name}" is not in the CSV header (${header.join(', ')})`);
    return i;
  };
  const timeCol = col('timestamp');
  const rhCol = col(options.column);
  const tCol = options.tempColumn === undefined ? null : col(options.tempColumn);
  const maxRows = options.maxRows ?? DEFAULT_MAX_REPLAY_ROWS;
  const rows: ReplayRow[] = [];
  for (let n = 1; n < lines.length && rows.length < maxRows; n++) {
    const line = lines[n] ?? '';
    if (line.trim() === '') continue;
    const cells = line.split(',');
    const timeMs = Date.parse(`${cells[timeCol] ?? ''}Z`);
    if (!Number.isFinite(timeMs)) throw new ReplayError('ECSV_VALUE', `line ${n + 1}: timestamp "${cells[timeCol] ?? ''}" is not an ISO time`);
    rows.push({ timeMs, rh: cell(cells, rhCol, options.column, n), tempC: tCol === null ? null : cell(cells, tCol, options.tempColumn ?? '', n) });
  }
  return rows;
}

function cell(cells: string[], index: number, name: string, n: number): number | null {
  const raw = (cells[index] ?? '').trim();
  if (raw === '') return null;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new ReplayError('ECSV_VALUE', `line ${n + 1}: ${name} "${raw}" is not a number`);
  return Math.round(value * 100) / 100;
}

/** The reading message for row `index` (seq = index, uptime = row time since the first row / speedup). */
export function replayMessage(rows: readonly ReplayRow[], index: number, sensorId: string, speedup: number): ReadingMessage {
  const row = rows[index];
  const first = rows[0];
  if (!row || !first) throw new RangeError(`row ${index} is outside the ${rows.length} replay rows`);
  const failed = row.rh === null;
  return {
    type: 'R',
    sensorId,
    seq: index % (SEQ_MAX + 1),
    uptimeMs: Math.round((row.timeMs - first.timeMs) / speedup),
    rh: row.rh,
    tempC: failed ? null : row.tempC,
    status: failed ? STATUS.readFailed : STATUS.ok,
  };
}

export interface ReplayDeviceOptions {
  rows: readonly ReplayRow[];
  sensorId: string;
  clock: Clock;
  /** Replay speed: 600 plays a 10-minute step every second. Must be > 0. */
  speedup: number;
  /** Boot id in the greeting (8 uppercase hex digits). Default "5EED0001". */
  bootId?: string;
}

/**
 * A device that greets, then sends one reading per CSV row, spaced by the rows' own time steps
 * divided by `speedup`. Same message-level interface as SimulatedDevice, so connectDevice wires it
 * to a pty. Emits 'done' after the last row and stops.
 */
export class ReplayDevice extends EventEmitter<SimulatedDeviceEvents & { done: [] }> {
  private index = 0;
  private timer: TimerHandle | null = null;
  private running = false;

  constructor(readonly options: ReplayDeviceOptions) {
    super();
    if (!(options.speedup > 0 && Number.isFinite(options.speedup))) throw new RangeError(`speedup must be a positive number, got ${options.speedup}`);
    if (options.rows.length === 0) throw new RangeError('replay needs at least one row');
  }

  /** Readings sent so far (also the next seq). */
  get sent(): number {
    return this.index;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.index = 0;
    const { sensorId } = this.options;
    this.emit('message', { type: 'H', firmware: '1.0.0-replay', model: 'REPLAY', bootId: this.options.bootId ?? '5EED0001', sensorIds: [sensorId] });
    this.next(0);
  }

  stop(): void {
    this.running = false;
    if (this.timer) this.options.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /** Replay devices ignore commands (they have nothing to configure). */
  handle(_msg: Message): void {}

  private next(delayMs: number): void {
    this.timer = this.options.clock.setTimeout(() => this.tick(), delayMs);
  }

  private tick(): void {
    if (!this.running) return;
    const { rows, sensorId, speedup } = this.options;
    this.emit('message', replayMessage(rows, this.index, sensorId, speedup));
    this.index += 1;
    const cur = rows[this.index - 1];
    const nxt = rows[this.index];
    if (cur && nxt) return this.next(Math.max(0, (nxt.timeMs - cur.timeMs) / speedup));
    this.running = false;
    this.emit('done');
  }
}
