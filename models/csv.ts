import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import type { Options } from 'csv-parse/sync';
import { RH_MAX, RH_MIN } from '../firmware-bridge/messages.ts';
import { ModelError } from './errors.ts';
import { FAULTY_FLAGS } from './resample.ts';
import { NaiveClock } from './time-zone.ts';

/**
 * Reads one numeric column of a training CSV (RFC 4180: quoted cells may hold commas): a
 * `timestamp` column in ISO 8601, numeric columns, empty cell = missing.
 *
 * Timestamps: either all without a zone (`2016-01-11T17:00:00`, `2016-01-11 17:00`), taken as the
 * local wall clock they were written in, or all with one (`Z`, `+01:00`, `+0100`), taken as
 * instants and turned into the wall clock of `timeZone` (default: the process's TZ, as the gateway
 * does, time-features.ts). Either way the series holds "naive" times: ms whose UTC fields are the
 * local wall-clock fields, which is what the time-of-day input is computed from. When clocks go
 * back (end of daylight saving time) the repeated local hour is dropped and counted, since the
 * wall clock cannot hold it twice.
 *
 * Faulty readings are rejected (become missing values) and counted: a value outside 0..100 %RH,
 * and, when the file has a `quality` column (as the gateway's and the central server's readings
 * do), a reading flagged with one of the resampler's FAULTY_FLAGS.
 */

/** Larger training files are refused; the shipped model's file is 2.3 MB. */
export const MAX_CSV_BYTES = 512 * 1024 * 1024;

export interface CsvRejections {
  /** Values outside 0..100 %RH. */
  outOfRange: number;
  /** Readings whose `quality` cell carries a faulty flag. */
  flagged: number;
  /** Rows of the repeated local hour when clocks went back (zoned timestamps only). */
  repeatedLocalTime: number;
}

export interface CsvSeries {
  file: string;
  column: string;
  /** Naive timestamps in ms, strictly increasing. */
  timesMs: number[];
  /** Values; null where the cell was empty or the reading was rejected. */
  values: (number | null)[];
  /** What was rejected, when anything was. */
  rejected?: CsvRejections;
}

export interface CsvOptions {
  /** IANA zone that zoned timestamps are turned into local time of. Default: the process's. */
  timeZone?: string;
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

export interface ParsedTimestamp {
  /** The fields as written, as if UTC. */
  naiveMs: number;
  /** Offset from UTC in minutes when the timestamp has a zone, else null. */
  offsetMin: number | null;
}

export function parseTimestamp(text: string): ParsedTimestamp | null {
  const m = TIMESTAMP.exec(text.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map((x) => (x === undefined ? 0 : Number(x))) as [number, number, number, number, number, number];
  const ms = m[7] === undefined ? 0 : Number((m[7] + '00').slice(0, 3));
  const t = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  const back = new Date(t);
  // Date.UTC rolls 2016-02-31 over to March; a calendar-invalid time is a data error.
  if (back.getUTCDate() !== d || back.getUTCMonth() !== mo - 1 || h > 23 || mi > 59 || s > 59) return null;
  const offsetMin = zoneOffsetMinutes(m[8]);
  if (offsetMin === undefined) return null;
  return { naiveMs: t, offsetMin };
}

/** null without a zone, undefined for an impossible offset. */
function zoneOffsetMinutes(zone: string | undefined): number | null | undefined {
  if (zone === undefined) return null;
  if (zone === 'Z') return 0;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2)) : 0;
  if (hours > 23 || minutes > 59) return undefined;
  return (zone[0] === '-' ? -1 : 1) * (hours * 60 + minutes);
}

export async function readCsvColumn(file: string, column: string, options: CsvOptions = {}): Promise<CsvSeries> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ModelError('DATA_INVALID', `cannot read CSV ${file}: ${(err as Error).message}`, [], { cause: err });
  }
  if (text.length > MAX_CSV_BYTES) throw new ModelError('DATA_INVALID', `CSV ${file} is larger than ${MAX_CSV_BYTES} bytes`);
  return parseCsvColumn(text, column, file, options);
}

interface Row {
  record: string[];
  /** Line number of the record's end, for messages. */
  line: number;
}

function parseRows(text: string, file: string): Row[] {
  try {
    // on_record keeps one small object per row (not csv-parse's full `info`).
    const options: Options<Row, string[]> = { relax_column_count: true, skip_empty_lines: true, trim: true, bom: true, on_record: (record: string[], context) => ({ record, line: context.lines }) };
    // csv-parse's overloads do not type an on_record that returns a different shape.
    return parse(text, options as unknown as Options) as unknown as Row[];
  } catch (err) {
    throw new ModelError('DATA_INVALID', `${file}: not a readable CSV: ${(err as Error).message}`, [], { cause: err });
  }
}

export function parseCsvColumn(text: string, column: string, file = '<csv>', options: CsvOptions = {}): CsvSeries {
  const rows = parseRows(text, file);
  const header = rows[0]?.record ?? [];
  const tCol = header.indexOf('timestamp');
  const vCol = header.indexOf(column);
  const qCol = header.indexOf('quality');
  if (tCol < 0) throw new ModelError('DATA_INVALID', `${file}: no "timestamp" column in the header (${header.join(',')})`);
  if (vCol < 0) throw new ModelError('DATA_INVALID', `${file}: no column "${column}" (columns: ${header.filter((h) => h !== 'timestamp').join(', ')})`);
  const clock = new NaiveClock(options.timeZone);
  const timesMs: number[] = [];
  const values: (number | null)[] = [];
  const rejected: CsvRejections = { outOfRange: 0, flagged: 0, repeatedLocalTime: 0 };
  let zoned: boolean | null = null;
  let lastInstant = -Infinity;
  for (let i = 1; i < rows.length; i++) {
    const { record: cells, line } = rows[i]!;
    const where = `${file} line ${line}`;
    const stamp = cells[tCol] ?? '';
    const p = parseTimestamp(stamp);
    if (p === null) throw new ModelError('DATA_INVALID', `${where}: timestamp "${stamp}" is not ISO 8601 YYYY-MM-DD[T ]HH:MM[:SS[.sss]][Z|±HH:MM]`);
    zoned ??= p.offsetMin !== null;
    if (zoned !== (p.offsetMin !== null)) throw new ModelError('DATA_INVALID', `${where}: timestamp "${stamp}" ${zoned ? 'has no zone' : 'has a zone'}, unlike the first row: use one kind throughout`);
    const instant = p.offsetMin === null ? p.naiveMs : p.naiveMs - p.offsetMin * 60_000;
    if (instant <= lastInstant) throw new ModelError('DATA_INVALID', `${where}: timestamp ${stamp} is not after the previous row`);
    lastInstant = instant;
    const t = p.offsetMin === null ? p.naiveMs : clock.naiveMs(instant);
    const prev = timesMs[timesMs.length - 1];
    if (prev !== undefined && t <= prev) {
      rejected.repeatedLocalTime++;
      continue;
    }
    timesMs.push(t);
    values.push(cellValue(cells, vCol, qCol, column, where, rejected));
  }
  if (timesMs.length === 0) throw new ModelError('DATA_INVALID', `${file}: no data rows`);
  const any = rejected.outOfRange + rejected.flagged + rejected.repeatedLocalTime > 0;
  return { file, column, timesMs, values, ...(any ? { rejected } : {}) };
}

function cellValue(cells: string[], vCol: number, qCol: number, column: string, where: string, rejected: CsvRejections): number | null {
  const cell = cells[vCol] ?? '';
  if (cell === '') return null;
  const v = Number(cell);
  if (!Number.isFinite(v)) throw new ModelError('DATA_INVALID', `${where}: ${column} = "${cell}" is not a number`);
  if (qCol >= 0 && (cells[qCol] ?? '').split(/[,;|\s]+/).some((f) => (FAULTY_FLAGS as readonly string[]).includes(f))) {
    rejected.flagged++;
    return null;
  }
  if (v < RH_MIN || v > RH_MAX) {
    rejected.outOfRange++;
    return null;
  }
  return v;
}
