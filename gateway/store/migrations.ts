import type Database from 'better-sqlite3';
import { StoreError } from './errors.ts';

export interface Migration {
  /** 1, 2, 3... in order; a version is never edited once released, only followed by a new one. */
  version: number;
  name: string;
  sql: string;
}

/**
 * The schema's history. Each step runs in its own transaction together with its row in
 * schema_migrations, so a crash mid-migration leaves the previous version intact.
 *
 * v1 is shaped for work that follows:
 * - byte budget with eviction: `id` is the insertion order, so "delete the oldest N" is a
 *   primary-key range delete (`DELETE FROM readings WHERE id < ?`);
 * - clock correction: (sensor_id, boot_id, uptime_ms) is kept raw, so wall_ms can be recomputed
 *   per boot once a trusted time is known; the UNIQUE index already groups rows by boot;
 * - sync cursor: `synced` marks rows an uplink has delivered; the cursor is an id, not a time,
 *   because wall_ms may be rewritten by clock correction.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'readings',
    sql: `
      CREATE TABLE readings (
        id        INTEGER PRIMARY KEY,
        sensor_id TEXT    NOT NULL,
        boot_id   TEXT    NOT NULL,
        seq       INTEGER NOT NULL,
        uptime_ms INTEGER NOT NULL,
        wall_ms   INTEGER NOT NULL,
        rh        REAL    NULL,
        temp_c    REAL    NULL,
        quality   TEXT    NOT NULL DEFAULT '',
        synced    INTEGER NOT NULL DEFAULT 0,
        UNIQUE (sensor_id, boot_id, seq)
      );
      CREATE INDEX readings_sensor_wall ON readings (sensor_id, wall_ms);
    `,
  },
  {
    // Byte budget and clock correction (docs/storage.md):
    // - time_trusted: 0 while the gateway's wall clock was not trusted at reception; such rows get
    //   wall_ms rewritten from uptime_ms once a trusted reading of the same (sensor, boot) arrives.
    //   The partial index stays tiny (only untrusted rows) and finds them per boot.
    // - resolution_ms / samples: 0 and 1 for a raw reading; a thinned row is the mean of `samples`
    //   readings over `resolution_ms` (60 000 or 600 000), keeping the id, seq and uptime of the first.
    version: 2,
    name: 'time_trusted_and_thinning',
    sql: `
      ALTER TABLE readings ADD COLUMN time_trusted  INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE readings ADD COLUMN resolution_ms INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE readings ADD COLUMN samples       INTEGER NOT NULL DEFAULT 1;
      CREATE INDEX readings_untrusted ON readings (sensor_id, boot_id) WHERE time_trusted = 0;
    `,
  },
  {
    // The uplink's questions (unsynced rows after a cursor, how many wait) read only the unsynced
    // rows through this partial index instead of scanning the table: on a full 512 MiB store an
    // idle uplink otherwise blocked the event loop for ~0.4 s per poll.
    version: 3,
    name: 'unsynced_index',
    sql: `
      CREATE INDEX readings_unsynced ON readings (id) WHERE synced = 0;
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/** Applies every migration newer than the file's version; returns the versions applied. */
export function migrate(db: Database.Database, nowMs: number, migrations: readonly Migration[] = MIGRATIONS): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version       INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL,
    applied_at_ms INTEGER NOT NULL
  )`);
  const current = (db.prepare('SELECT coalesce(max(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  if (current > latest) {
    throw new StoreError(
      'STORE_SCHEMA_TOO_NEW',
      `database schema version ${current} is newer than this hygrocast understands (${latest}); upgrade hygrocast or restore a matching backup`,
    );
  }
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)');
  const applied: number[] = [];
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name, nowMs);
    })();
    applied.push(m.version);
  }
  return applied;
}
