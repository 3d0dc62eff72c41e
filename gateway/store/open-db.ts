import fs from 'node:fs';
import Database from 'better-sqlite3';
import { StoreError, errorCode } from './errors.ts';

/** Size the WAL file is truncated to after a checkpoint, in bytes (4 MiB, about one auto-checkpoint). */
export const WAL_SIZE_LIMIT_BYTES = 4 * 1024 * 1024;

/** Page size of new databases, in bytes (SD card wear, see openChecked). */
export const PAGE_SIZE_BYTES = 1024;

/** SQLite's own default max_page_count: what "no ceiling" means. */
export const NO_PAGE_LIMIT = 4_294_967_294;

export interface OpenOptions {
  /** How long a statement waits for a lock held by another connection, in ms. */
  busyTimeoutMs: number;
  /** Hard ceiling on the file size in bytes (PRAGMA max_page_count); null for none. */
  maxDatabaseBytes: number | null;
  /** Wall-clock time for the quarantine file name. */
  nowMs: number;
  log: (message: string) => void;
}

/**
 * Opens `file` and proves it is a healthy database before anyone writes to it. A file that is
 * not a database or fails `PRAGMA quick_check` is moved aside with its WAL (so it can be
 * examined or recovered with `sqlite3 .recover`) and a fresh database is opened in its place:
 * a gateway that keeps measuring beats one that refuses to start over old data.
 * Any other failure (permissions, missing mount) is a StoreError with code STORE_OPEN_FAILED.
 */
export function openDatabase(file: string, options: OpenOptions): Database.Database {
  try {
    return openChecked(file, options);
  } catch (err) {
    if (!isCorruption(err)) throw asOpenError(file, err);
    const movedTo = quarantine(file, options.nowMs);
    options.log(`database ${file} is damaged (${describe(err)}); moved it to ${movedTo} and started a fresh database`);
    try {
      return openChecked(file, options);
    } catch (again) {
      throw asOpenError(file, again);
    }
  }
}

function openChecked(file: string, options: OpenOptions): Database.Database {
  const db = new Database(file, { timeout: options.busyTimeoutMs });
  try {
    // The first statement reads the header: a file that is not a database fails here (SQLITE_NOTADB).
    db.pragma(`busy_timeout = ${options.busyTimeoutMs}`);
    // Only effective on a new file, and only before auto_vacuum (which fixes the page size). Each
    // flush rewrites about 9 leaf pages (the table's, and one per sensor in each of the two
    // indexes) into the WAL, whatever the batch size: 1 KiB pages instead of 4 KiB cut the bytes
    // written per reading about 3x (npm run bench -- store).
    db.pragma(`page_size = ${PAGE_SIZE_BYTES}`);
    // Must come before journal_mode (which writes the first page) and before any table: on an
    // existing file it is a no-op. Pages freed by eviction are reused in place; INCREMENTAL lets
    // the store give them back to the disk when the budget is lowered (docs/storage.md).
    db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma('journal_mode = WAL');
    // After a checkpoint the WAL file is truncated to this size, so it does not keep its high-water mark.
    db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
    const problems = (db.pragma('quick_check') as Array<{ quick_check: string }>).map((row) => row.quick_check);
    if (problems.length !== 1 || problems[0] !== 'ok') {
      throw new StoreError('STORE_CORRUPT', `quick_check: ${problems.slice(0, 3).join('; ')}`);
    }
    // See docs/storage.md: in WAL mode NORMAL never corrupts the file on power loss; it can lose
    // the transactions committed since the last checkpoint's fsync.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    if (options.maxDatabaseBytes !== null) {
      const pageSize = db.pragma('page_size', { simple: true }) as number;
      db.pragma(`max_page_count = ${Math.max(1, Math.floor(options.maxDatabaseBytes / pageSize))}`);
    }
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

function isCorruption(err: unknown): boolean {
  const code = errorCode(err) ?? '';
  return code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT') || code === 'STORE_CORRUPT';
}

/** Renames the file (and its -wal, kept as a pair) to `<file>.corrupt-<timestamp>`; drops -shm. */
function quarantine(file: string, nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/[:.]/g, '-');
  let target = `${file}.corrupt-${stamp}`;
  for (let n = 2; fs.existsSync(target); n++) target = `${file}.corrupt-${stamp}-${n}`;
  fs.renameSync(file, target);
  if (fs.existsSync(`${file}-wal`)) fs.renameSync(`${file}-wal`, `${target}-wal`);
  fs.rmSync(`${file}-shm`, { force: true });
  return target;
}

function describe(err: unknown): string {
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  return code ? `${code}: ${message}` : message;
}

function asOpenError(file: string, err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  return new StoreError('STORE_OPEN_FAILED', `cannot open database ${file}: ${describe(err)}`, { cause: err });
}
