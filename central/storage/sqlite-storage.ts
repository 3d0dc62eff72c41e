import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { QualityFlag, Reading } from '../../gateway/types.ts';
import { CentralError } from '../errors.ts';
import type { AccuracyDetail, AccuracyQuery, CentralReading, CentralStorage, IngestMark, IngestResult, ModelReport, StoredReport } from './storage.ts';

export const CENTRAL_DB_FILE = 'central.db';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS gateways (
    gateway_id    TEXT PRIMARY KEY,
    token_hash    TEXT NOT NULL UNIQUE,
    created_at_ms INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS readings (
    gateway_id     TEXT    NOT NULL,
    sensor_id      TEXT    NOT NULL,
    boot_id        TEXT    NOT NULL,
    seq            INTEGER NOT NULL,
    uptime_ms      INTEGER NOT NULL,
    wall_ms        INTEGER NOT NULL,
    rh             REAL    NULL,
    temp_c         REAL    NULL,
    quality        TEXT    NOT NULL,
    received_at_ms INTEGER NOT NULL,
    PRIMARY KEY (gateway_id, sensor_id, boot_id, seq)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS readings_sensor_wall ON readings (gateway_id, sensor_id, wall_ms);
  CREATE TABLE IF NOT EXISTS reports (
    id            INTEGER PRIMARY KEY,
    gateway_id    TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    model_version TEXT    NOT NULL,
    outcome       TEXT    NOT NULL,
    mae_json      TEXT    NULL,
    at_ms         INTEGER NOT NULL,
    sensor_id     TEXT    NULL,
    accuracy_json TEXT    NULL
  );
  CREATE TABLE IF NOT EXISTS health (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    at_ms INTEGER NOT NULL
  );
`;

/** Columns added to `reports` after its first release; ADDed to an older database at start(). */
export const REPORT_COLUMNS_ADDED = ['sensor_id TEXT NULL', 'accuracy_json TEXT NULL'] as const;

/** The accuracy listing's index, and the retention's (pruneAccuracyReports deletes by kind and age). */
const REPORTS_INDEXES = `
  CREATE INDEX IF NOT EXISTS reports_accuracy ON reports (kind, gateway_id, sensor_id, id);
  CREATE INDEX IF NOT EXISTS reports_kind_at ON reports (kind, at_ms);
`;

interface ReadingRow {
  gateway_id: string;
  sensor_id: string;
  boot_id: string;
  seq: number;
  uptime_ms: number;
  wall_ms: number;
  rh: number | null;
  temp_c: number | null;
  quality: string;
}

type ReportParams = ReturnType<typeof reportParams>;
type AccuracyFilter = ReturnType<typeof accuracyParams> & { limit: number };

/**
 * Every statement the storage runs, prepared once at start(): better-sqlite3 compiles the SQL on each
 * prepare(), so a statement prepared per call pays that again on every ingest and query.
 */
function prepareStatements(db: Database.Database) {
  return {
    registerGateway: db.prepare<[string, string, number]>('INSERT OR IGNORE INTO gateways (gateway_id, token_hash, created_at_ms) VALUES (?, ?, ?)'),
    gatewayForTokenHash: db.prepare<[string], string>('SELECT gateway_id FROM gateways WHERE token_hash = ?').pluck(),
    insertReading: db.prepare<[string, string, string, number, number, number, number | null, number | null, string, number]>(
      `INSERT OR IGNORE INTO readings (gateway_id, sensor_id, boot_id, seq, uptime_ms, wall_ms, rh, temp_c, quality, received_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    maxSeq: db.prepare<[string, string, string], number>('SELECT max(seq) FROM readings WHERE gateway_id = ? AND sensor_id = ? AND boot_id = ?').pluck(),
    countAll: db.prepare<[], number>('SELECT count(*) FROM readings').pluck(),
    countGateway: db.prepare<[string], number>('SELECT count(*) FROM readings WHERE gateway_id = ?').pluck(),
    readings: db.prepare<[string, string, number, number, number], ReadingRow>(
      `SELECT * FROM (SELECT gateway_id, sensor_id, boot_id, seq, uptime_ms, wall_ms, rh, temp_c, quality FROM readings
       WHERE gateway_id = ? AND sensor_id = ? AND wall_ms >= ? AND wall_ms < ? ORDER BY wall_ms DESC, boot_id DESC, seq DESC LIMIT ?)
       ORDER BY wall_ms, boot_id, seq`,
    ),
    sensors: db.prepare<[], { gateway_id: string; sensor_id: string }>('SELECT DISTINCT gateway_id, sensor_id FROM readings ORDER BY 1, 2'),
    addReport: db.prepare<ReportParams>(`INSERT INTO reports (${REPORT_INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
    reports: db.prepare<[string, number], ReportRow>(`SELECT ${REPORT_SELECT_COLUMNS} FROM reports WHERE gateway_id = ? ORDER BY id DESC LIMIT ?`),
    accuracyReports: db.prepare<[AccuracyFilter], ReportRow>(
      `SELECT ${REPORT_SELECT_COLUMNS} FROM reports WHERE kind = 'accuracy'
       AND (@gateway IS NULL OR gateway_id = @gateway) AND (@sensor IS NULL OR sensor_id = @sensor) AND (@model IS NULL OR model_version = @model)
       ORDER BY id DESC LIMIT @limit`,
    ),
    pruneAccuracyReports: db.prepare<[number]>(`DELETE FROM reports WHERE kind = 'accuracy' AND at_ms < ?`),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/** What start() opens and close() releases; statements are only valid while their database is open. */
interface OpenDatabase {
  db: Database.Database;
  sql: Statements;
  ingest: (gatewayId: string, readings: readonly Reading[], atMs: number) => IngestResult;
}

/**
 * CentralStorage on SQLite (the default: embedded, no setup). WAL with synchronous = FULL: a
 * mark returned by ingest() is a promise to the gateway that it may forget those readings, so the
 * commit must survive a power cut, not only a process crash (NORMAL would only guarantee the latter).
 */
export class SqliteCentralStorage implements CentralStorage {
  private state: OpenDatabase | null = null;

  constructor(private readonly options: { dataDir: string }) {}

  start(): Promise<void> {
    return run(() => {
      fs.mkdirSync(this.options.dataDir, { recursive: true });
      const db = new Database(path.join(this.options.dataDir, CENTRAL_DB_FILE));
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('busy_timeout = 5000');
      db.exec(SCHEMA);
      addMissingReportColumns(db);
      db.exec(REPORTS_INDEXES);
      const sql = prepareStatements(db);
      const ingest = db.transaction((gatewayId: string, readings: readonly Reading[], atMs: number): IngestResult => {
        let inserted = 0;
        const boots = new Map<string, { sensorId: string; bootId: string }>();
        for (const r of readings) {
          inserted += sql.insertReading.run(gatewayId, r.sensorId, r.bootId, r.seq, r.uptimeMs, r.wallTimeMs, r.rh, r.tempC, r.quality.join(','), atMs).changes;
          boots.set(`${r.sensorId}\u0000${r.bootId}`, { sensorId: r.sensorId, bootId: r.bootId });
        }
        const marks: IngestMark[] = [...boots.values()].map((b) => ({ ...b, seq: sql.maxSeq.get(gatewayId, b.sensorId, b.bootId)! }));
        return { inserted, duplicates: readings.length - inserted, marks };
      });
      this.state = { db, sql, ingest };
    });
  }

  registerGateway(gatewayId: string, tokenHash: string, atMs: number): Promise<void> {
    return run(() => {
      const info = this.open().sql.registerGateway.run(gatewayId, tokenHash, atMs);
      if (info.changes === 0) throw new CentralError('CENTRAL_GATEWAY_EXISTS', `gateway "${gatewayId}" is already registered`);
    });
  }

  gatewayForTokenHash(tokenHash: string): Promise<string | null> {
    return run(() => this.open().sql.gatewayForTokenHash.get(tokenHash) ?? null);
  }

  ingest(gatewayId: string, readings: readonly Reading[], atMs: number): Promise<IngestResult> {
    return run(() => this.open().ingest(gatewayId, readings, atMs));
  }

  writeHealthMark(atMs: number): Promise<void> {
    return run(() => void this.open().db.prepare('INSERT INTO health (id, at_ms) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at_ms = excluded.at_ms').run(atMs));
  }

  countReadings(gatewayId?: string): Promise<number> {
    return run(() => {
      const { sql } = this.open();
      return (gatewayId === undefined ? sql.countAll.get() : sql.countGateway.get(gatewayId))!;
    });
  }

  readings(gatewayId: string, sensorId: string, fromMs: number, toMs: number, limit: number): Promise<CentralReading[]> {
    return run(() => this.open().sql.readings.all(gatewayId, sensorId, fromMs, toMs, limit).map(fromRow));
  }

  sensors(): Promise<Array<{ gatewayId: string; sensorId: string }>> {
    return run(() => this.open().sql.sensors.all().map((r) => ({ gatewayId: r.gateway_id, sensorId: r.sensor_id })));
  }

  addReport(gatewayId: string, report: ModelReport): Promise<number> {
    return run(() => Number(this.open().sql.addReport.run(...reportParams(gatewayId, report)).lastInsertRowid));
  }

  reports(gatewayId: string, limit: number): Promise<StoredReport[]> {
    return run(() => this.open().sql.reports.all(gatewayId, limit).map(fromReportRow));
  }

  accuracyReports(query: AccuracyQuery, limit: number): Promise<StoredReport[]> {
    return run(() => this.open().sql.accuracyReports.all({ ...accuracyParams(query), limit }).map(fromReportRow));
  }

  pruneAccuracyReports(beforeMs: number): Promise<number> {
    return run(() => this.open().sql.pruneAccuracyReports.run(beforeMs).changes);
  }

  close(): Promise<void> {
    return run(() => {
      this.state?.db.close();
      this.state = null;
    });
  }

  private open(): OpenDatabase {
    if (this.state === null) throw new CentralError('CENTRAL_STORAGE_CLOSED', 'central storage is not started or already closed');
    return this.state;
  }
}

export interface ReportRow {
  id: number | string;
  gateway_id: string;
  kind: string;
  model_version: string;
  outcome: string;
  mae_json: string | null;
  at_ms: number | string;
  accuracy_json: string | null;
}

export const REPORT_INSERT_COLUMNS = 'gateway_id, kind, model_version, outcome, mae_json, at_ms, sensor_id, accuracy_json';
export const REPORT_SELECT_COLUMNS = 'id, gateway_id, kind, model_version, outcome, mae_json, at_ms, accuracy_json';

/** The values of REPORT_INSERT_COLUMNS, in order, for both storages. */
export function reportParams(gatewayId: string, r: ModelReport): [string, string, string, string, string | null, number, string | null, string | null] {
  const json = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v));
  return [gatewayId, r.kind, r.modelVersion, r.outcome, json(r.maePerHorizon), r.atMs, r.accuracy?.sensorId ?? null, json(r.accuracy)];
}

/** The filters of an accuracy query, null for "any". */
export function accuracyParams(q: AccuracyQuery): { gateway: string | null; sensor: string | null; model: string | null } {
  return { gateway: q.gatewayId ?? null, sensor: q.sensorId ?? null, model: q.modelVersion ?? null };
}

/** SQLite has no ADD COLUMN IF NOT EXISTS: a database created before the accuracy columns gets them here. */
function addMissingReportColumns(db: Database.Database): void {
  const have = new Set((db.prepare('PRAGMA table_info(reports)').all() as { name: string }[]).map((c) => c.name));
  for (const column of REPORT_COLUMNS_ADDED) {
    if (!have.has(column.split(' ')[0]!)) db.exec(`ALTER TABLE reports ADD COLUMN ${column}`);
  }
}

export function fromReportRow(r: ReportRow): StoredReport {
  const report: StoredReport = {
    id: Number(r.id),
    gatewayId: r.gateway_id,
    kind: r.kind as ModelReport['kind'],
    modelVersion: r.model_version,
    outcome: r.outcome,
    atMs: Number(r.at_ms),
  };
  if (r.mae_json !== null) report.maePerHorizon = JSON.parse(r.mae_json) as Record<string, number>;
  if (r.accuracy_json !== null) report.accuracy = JSON.parse(r.accuracy_json) as AccuracyDetail;
  return report;
}

export function fromRow(r: ReadingRow): CentralReading {
  return {
    gatewayId: r.gateway_id,
    sensorId: r.sensor_id,
    bootId: r.boot_id,
    seq: Number(r.seq),
    uptimeMs: Number(r.uptime_ms),
    wallTimeMs: Number(r.wall_ms),
    rh: r.rh,
    tempC: r.temp_c,
    quality: r.quality === '' ? [] : (r.quality.split(',') as QualityFlag[]),
  };
}

/** One error route: synchronous work inside a promise, so a throw becomes a rejection. */
function run<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}
