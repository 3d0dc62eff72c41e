import pg from 'pg';
import type { Reading } from '../../gateway/types.ts';
import { CentralError } from '../errors.ts';
import { accuracyParams, fromReportRow, fromRow, REPORT_INSERT_COLUMNS, REPORT_SELECT_COLUMNS, reportParams, type ReportRow } from './sqlite-storage.ts';
import type { AccuracyQuery, CentralReading, CentralStorage, IngestResult, ModelReport, StoredReport } from './storage.ts';

export interface PgStorageOptions {
  /** libpq connection string, e.g. postgres://user@127.0.0.1:5432/hygrocast. */
  connectionString: string;
  /** Pool size; bounds concurrent ingests' connections. Default 4. */
  maxConnections?: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS gateways (
    gateway_id    TEXT PRIMARY KEY,
    token_hash    TEXT NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS readings (
    gateway_id     TEXT             NOT NULL,
    sensor_id      TEXT             NOT NULL,
    boot_id        TEXT             NOT NULL,
    seq            BIGINT           NOT NULL,
    uptime_ms      BIGINT           NOT NULL,
    wall_ms        BIGINT           NOT NULL,
    rh             DOUBLE PRECISION NULL,
    temp_c         DOUBLE PRECISION NULL,
    quality        TEXT             NOT NULL,
    received_at_ms BIGINT           NOT NULL,
    PRIMARY KEY (gateway_id, sensor_id, boot_id, seq)
  );
  CREATE INDEX IF NOT EXISTS readings_sensor_wall ON readings (gateway_id, sensor_id, wall_ms);
  CREATE TABLE IF NOT EXISTS reports (
    id            BIGSERIAL PRIMARY KEY,
    gateway_id    TEXT   NOT NULL,
    kind          TEXT   NOT NULL,
    model_version TEXT   NOT NULL,
    outcome       TEXT   NOT NULL,
    mae_json      TEXT   NULL,
    at_ms         BIGINT NOT NULL
  );
  ALTER TABLE reports ADD COLUMN IF NOT EXISTS sensor_id TEXT NULL;
  ALTER TABLE reports ADD COLUMN IF NOT EXISTS accuracy_json TEXT NULL;
  CREATE INDEX IF NOT EXISTS reports_accuracy ON reports (kind, gateway_id, sensor_id, id);
  CREATE INDEX IF NOT EXISTS reports_kind_at ON reports (kind, at_ms);
  CREATE TABLE IF NOT EXISTS health (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    at_ms BIGINT NOT NULL
  );
`;

/**
 * CentralStorage on PostgreSQL, for fleets. A batch is one multi-row INSERT ... ON CONFLICT DO
 * NOTHING over unnest()ed arrays (one round trip per batch, whatever its size), then the marks
 * are read in the same transaction; COMMIT returns only once the WAL is flushed (the server's
 * default synchronous_commit = on), which is what makes the marks durable.
 */
export class PgCentralStorage implements CentralStorage {
  private pool: pg.Pool | null = null;

  constructor(private readonly options: PgStorageOptions) {}

  async start(): Promise<void> {
    const pool = new pg.Pool({ connectionString: this.options.connectionString, max: this.options.maxConnections ?? 4 });
    // An idle client's error (server restart) must not crash the process; the next query fails instead.
    pool.on('error', () => {});
    try {
      await pool.query(SCHEMA);
    } catch (err) {
      await pool.end();
      throw err;
    }
    this.pool = pool;
  }

  async registerGateway(gatewayId: string, tokenHash: string, atMs: number): Promise<void> {
    const res = await this.open().query('INSERT INTO gateways (gateway_id, token_hash, created_at_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
      gatewayId,
      tokenHash,
      atMs,
    ]);
    if (res.rowCount === 0) throw new CentralError('CENTRAL_GATEWAY_EXISTS', `gateway "${gatewayId}" is already registered`);
  }

  async gatewayForTokenHash(tokenHash: string): Promise<string | null> {
    const res = await this.open().query<{ gateway_id: string }>('SELECT gateway_id FROM gateways WHERE token_hash = $1', [tokenHash]);
    return res.rows[0]?.gateway_id ?? null;
  }

  async ingest(gatewayId: string, readings: readonly Reading[], atMs: number): Promise<IngestResult> {
    const client = await this.open().connect();
    try {
      await client.query('BEGIN');
      const res = await client.query(
        `INSERT INTO readings (gateway_id, sensor_id, boot_id, seq, uptime_ms, wall_ms, rh, temp_c, quality, received_at_ms)
         SELECT $1, s, b, q, u, w, h, t, f, $2
         FROM unnest($3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::float8[], $9::float8[], $10::text[]) AS x(s, b, q, u, w, h, t, f)
         ON CONFLICT DO NOTHING`,
        [
          gatewayId,
          atMs,
          readings.map((r) => r.sensorId),
          readings.map((r) => r.bootId),
          readings.map((r) => r.seq),
          readings.map((r) => r.uptimeMs),
          readings.map((r) => r.wallTimeMs),
          readings.map((r) => r.rh),
          readings.map((r) => r.tempC),
          readings.map((r) => r.quality.join(',')),
        ],
      );
      const boots = new Map<string, [string, string]>();
      for (const r of readings) boots.set(`${r.sensorId}\u0000${r.bootId}`, [r.sensorId, r.bootId]);
      const pairs = [...boots.values()];
      const marks = await client.query<{ sensor_id: string; boot_id: string; seq: string }>(
        `SELECT sensor_id, boot_id, max(seq) AS seq FROM readings
         WHERE gateway_id = $1 AND (sensor_id, boot_id) IN (SELECT * FROM unnest($2::text[], $3::text[]))
         GROUP BY sensor_id, boot_id`,
        [gatewayId, pairs.map((p) => p[0]), pairs.map((p) => p[1])],
      );
      await client.query('COMMIT');
      const inserted = res.rowCount ?? 0;
      return {
        inserted,
        duplicates: readings.length - inserted,
        marks: marks.rows.map((m) => ({ sensorId: m.sensor_id, bootId: m.boot_id, seq: Number(m.seq) })),
      };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async writeHealthMark(atMs: number): Promise<void> {
    await this.open().query('INSERT INTO health (id, at_ms) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET at_ms = EXCLUDED.at_ms', [atMs]);
  }

  async countReadings(gatewayId?: string): Promise<number> {
    const res =
      gatewayId === undefined
        ? await this.open().query<{ n: string }>('SELECT count(*) AS n FROM readings')
        : await this.open().query<{ n: string }>('SELECT count(*) AS n FROM readings WHERE gateway_id = $1', [gatewayId]);
    return Number(res.rows[0]?.n ?? 0);
  }

  async readings(gatewayId: string, sensorId: string, fromMs: number, toMs: number, limit: number): Promise<CentralReading[]> {
    const res = await this.open().query(
      `SELECT * FROM (SELECT gateway_id, sensor_id, boot_id, seq, uptime_ms, wall_ms, rh, temp_c, quality FROM readings
       WHERE gateway_id = $1 AND sensor_id = $2 AND wall_ms >= $3 AND wall_ms < $4 ORDER BY wall_ms DESC, boot_id DESC, seq DESC LIMIT $5) newest
       ORDER BY wall_ms, boot_id, seq`,
      [gatewayId, sensorId, fromMs, toMs, limit],
    );
    return res.rows.map(fromRow);
  }

  async sensors(): Promise<Array<{ gatewayId: string; sensorId: string }>> {
    const res = await this.open().query<{ gateway_id: string; sensor_id: string }>('SELECT DISTINCT gateway_id, sensor_id FROM readings ORDER BY 1, 2');
    return res.rows.map((r) => ({ gatewayId: r.gateway_id, sensorId: r.sensor_id }));
  }

  async addReport(gatewayId: string, report: ModelReport): Promise<number> {
    const res = await this.open().query<{ id: string }>(
      `INSERT INTO reports (${REPORT_INSERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
      reportParams(gatewayId, report),
    );
    return Number(res.rows[0]?.id);
  }

  async reports(gatewayId: string, limit: number): Promise<StoredReport[]> {
    const res = await this.open().query<ReportRow>(`SELECT ${REPORT_SELECT_COLUMNS} FROM reports WHERE gateway_id = $1 ORDER BY id DESC LIMIT $2`, [gatewayId, limit]);
    return res.rows.map(fromReportRow);
  }

  async accuracyReports(query: AccuracyQuery, limit: number): Promise<StoredReport[]> {
    const p = accuracyParams(query);
    const res = await this.open().query<ReportRow>(
      `SELECT ${REPORT_SELECT_COLUMNS} FROM reports WHERE kind = 'accuracy'
       AND ($1::text IS NULL OR gateway_id = $1) AND ($2::text IS NULL OR sensor_id = $2) AND ($3::text IS NULL OR model_version = $3)
       ORDER BY id DESC LIMIT $4`,
      [p.gateway, p.sensor, p.model, limit],
    );
    return res.rows.map(fromReportRow);
  }

  async pruneAccuracyReports(beforeMs: number): Promise<number> {
    const res = await this.open().query(`DELETE FROM reports WHERE kind = 'accuracy' AND at_ms < $1`, [beforeMs]);
    return res.rowCount ?? 0;
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.end();
  }

  private open(): pg.Pool {
    if (this.pool === null) throw new CentralError('CENTRAL_STORAGE_CLOSED', 'central storage is not started or already closed');
    return this.pool;
  }
}
