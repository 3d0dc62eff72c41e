import { readFile } from 'node:fs/promises';
import { ModelError } from './errors.ts';

/**
 * Reads one numeric column of a training CSV: a `timestamp` column with ISO-8601-ish local
 * time (`2016-01-11T17:00:00` or `2016-01-11 17:00`), numeric columns, empty cell = missing.
 * Timestamps are kept as written: they are parsed as if UTC ("naive" time), so their UTC fields
 * are the local wall-clock fields (see time-features.ts). A zone suffix is refused rather than
 * silently reinterpreted.
 */

/** Larger training files are refused; the shipped model's file is 2.3 MB. */
export const MAX_CSV_BYTES = 512 * 1024 * 1024;

export interface CsvSeries {
  file: string;
  column: string;
  /** Naive timestamps in ms, strictly increasing. */
  timesMs: number[];
  /** Values; null where the cell was empty. */
  values: (number | null)[];
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?$/;

export function parseNaiveTimestamp(text: string): number | null {
  const m = TIMESTAMP.exec(text.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map((x) => (x === undefined ? 0 : Number(x))) as [number, number, number, number, number, number];
  const ms = m[7] === undefined ? 0 : Number((m[7] + '00').slice(0, 3));
  const t = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  const back = new Date(t);
  // Date.UTC rolls 2016-02-31 over to March; a calendar-invalid time is a data error.
  if (back.getUTCDate() !== d || back.getUTCMonth() !== mo - 1 || h > 23 || mi > 59 || s > 59) return null;
  return t;
}

export async function readCsvColumn(file: string, column: string): Promise<CsvSeries> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ModelError('DATA_INVALID', `cannot read CSV ${file}: ${(err as Error).message}`, [], { cause: err });
  }
  if (text.length > MAX_CSV_BYTES) throw new ModelError('DATA_INVALID', `CSV ${file} is larger than ${MAX_CSV_BYTES} bytes`);
  return parseCsvColumn(text, column, file);
}

export function parseCsvColumn(text: string, column: string, file = '<csv>'): CsvSeries {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  const tCol = header.indexOf('timestamp');
  const vCol = header.indexOf(column);
  if (tCol < 0) throw new ModelError('DATA_INVALID', `${file}: no "timestamp" column in the header (${header.join(',')})`);
  if (vCol < 0) throw new ModelError('DATA_INVALID', `${file}: no column "${column}" (columns: ${header.filter((h) => h !== 'timestamp').join(', ')})`);
  const timesMs: number[] = [];
  const values: (number | null)[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '') continue;
    const cells = line.split(',');
    const where = `${file} line ${i + 1}`;
    const t = parseNaiveTimestamp(cells[tCol] ?? '');
    if (t === null) throw new ModelError('DATA_INVALID', `${where}: timestamp "${cells[tCol] ?? ''}" is not YYYY-MM-DD[T ]HH:MM[:SS] without a zone`);
    const prev = timesMs[timesMs.length - 1];
    if (prev !== undefined && t <= prev) throw new ModelError('DATA_INVALID', `${where}: timestamp ${cells[tCol]} is not after the previous row`);
    const cell = (cells[vCol] ?? '').trim();
    const v = cell === '' ? null : Number(cell);
    if (v !== null && !Number.isFinite(v)) throw new ModelError('DATA_INVALID', `${where}: ${column} = "${cell}" is not a number`);
    timesMs.push(t);
    values.push(v);
  }
  if (timesMs.length === 0) throw new ModelError('DATA_INVALID', `${file}: no data rows`);
  return { file, column, timesMs, values };
}
