import type { Reading } from '../../gateway/types.ts';

/**
 * "Stored up to here" for one (sensor, boot) of one gateway: the highest seq the central store
 * holds durably. A gateway advances its sync cursor only past readings covered by a mark.
 */
export interface IngestMark {
  sensorId: string;
  bootId: string;
  seq: number;
}

export interface IngestResult {
  /** Readings newly stored by this call. */
  inserted: number;
  /** Readings of the batch already stored before (a replay); ignored. */
  duplicates: number;
  /** One mark per (sensor, boot) present in the batch, read inside the committing transaction. */
  marks: IngestMark[];
}

/** A reading as the central server keeps it. */
export interface CentralReading extends Reading {
  gatewayId: string;
}

/** The live error of one horizon over a gateway's rolling window (gateway/forecast/forecast-log.ts). */
export interface HorizonAccuracy {
  horizonS: number;
  /** Mean absolute error, %RH, over the `n` forecasts scored in the window. */
  mae: number;
  /** Forecasts scored in the window (at least 1). */
  n: number;
  /** Fraction of those truths inside the published interval, when the gateway computed it. */
  coverage?: number;
  /** The online band calibration factors at this horizon (1 = the model's own band), when on. */
  bandScale?: { lower: number; upper: number; updates: number };
}

/** The body of an 'accuracy' report: one sensor under one model, scored against the truth. */
export interface AccuracyDetail {
  sensorId: string;
  /** The gateway's rolling window over target times, s (24 h by default). */
  windowS: number;
  /** Only horizons with at least one scored forecast, by increasing horizon. */
  horizons: HorizonAccuracy[];
}

/** What a gateway reports about a model: its live accuracy or a rollout step's outcome. */
export interface ModelReport {
  kind: 'accuracy' | 'rollout';
  modelVersion: string;
  /** e.g. 'promoted', 'rejected_signature', 'rolled_back_nan' for rollouts; 'live' for accuracy. */
  outcome: string;
  /** Mean absolute error per horizon in seconds (the MAE behind a rollout decision; for 'accuracy' the horizons' MAE). */
  maePerHorizon?: Record<string, number>;
  /** Required for 'accuracy' (the HTTP layer enforces it), absent for 'rollout'. */
  accuracy?: AccuracyDetail;
  atMs: number;
}

/** Which accuracy reports to list; every field optional, newest first. */
export interface AccuracyQuery {
  gatewayId?: string;
  sensorId?: string;
  modelVersion?: string;
}

export interface StoredReport extends ModelReport {
  id: number;
  gatewayId: string;
}

/**
 * The central server's storage. Contract (central/storage/storage.contract.ts runs it against every
 * implementation):
 * - ingest() stores a batch atomically (all or nothing) and is idempotent on
 *   (gatewayId, sensorId, bootId, seq): a replayed reading is counted in `duplicates`, never stored
 *   twice, and never overwrites the first copy. The returned marks are durable when it resolves.
 * - Tokens are stored only as hashes; gatewayForTokenHash() maps a hash back to its gateway id.
 * - Every method rejects (never throws synchronously) with a CentralError or the driver's error.
 * - close() releases the database; later calls reject with CENTRAL_STORAGE_CLOSED.
 */
export interface CentralStorage {
  /** Creates or migrates the schema; must be called (and awaited) once before anything else. */
  start(): Promise<void>;
  /** Rejects with CENTRAL_GATEWAY_EXISTS when `gatewayId` is taken. */
  registerGateway(gatewayId: string, tokenHash: string, atMs: number): Promise<void>;
  gatewayForTokenHash(tokenHash: string): Promise<string | null>;
  ingest(gatewayId: string, readings: readonly Reading[], atMs: number): Promise<IngestResult>;
  /**
   * Writes the one-row health mark: the health check's proof that the database takes writes (a
   * read-only failover or a full disk passes every read while each ingest fails).
   */
  writeHealthMark(atMs: number): Promise<void>;
  /** Number of readings kept, of one gateway or of all. */
  countReadings(gatewayId?: string): Promise<number>;
  /**
   * Readings of one sensor with wallTimeMs in [fromMs, toMs): the newest `limit` of them (a model is
   * retrained on the sensor's recent past), returned oldest first.
   */
  readings(gatewayId: string, sensorId: string, fromMs: number, toMs: number, limit: number): Promise<CentralReading[]>;
  /** Every (gateway, sensor) with at least one reading. */
  sensors(): Promise<Array<{ gatewayId: string; sensorId: string }>>;
  addReport(gatewayId: string, report: ModelReport): Promise<number>;
  /** Newest first, at most `limit`. */
  reports(gatewayId: string, limit: number): Promise<StoredReport[]>;
  /** The 'accuracy' reports matching every given field of `query`, newest first, at most `limit`. */
  accuracyReports(query: AccuracyQuery, limit: number): Promise<StoredReport[]>;
  /**
   * Deletes the 'accuracy' reports whose atMs is before `beforeMs` (one at exactly `beforeMs` stays);
   * other kinds of report are kept. Resolves to the number deleted. The caller computes `beforeMs`
   * from its clock and the retention (central/accuracy-retention.ts).
   */
  pruneAccuracyReports(beforeMs: number): Promise<number>;
  close(): Promise<void>;
}

/** Upper bound of one ingest call, in readings (the HTTP layer enforces it before storage). */
export const MAX_INGEST_READINGS = 10_000;
/** Upper bound of readings()' and reports()' `limit`. */
export const MAX_QUERY_LIMIT = 1_000_000;

export const GATEWAY_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
