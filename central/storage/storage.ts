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

/** What a gateway reports about a model: its live accuracy or a rollout step's outcome. */
export interface ModelReport {
  kind: 'accuracy' | 'rollout';
  modelVersion: string;
  /** e.g. 'promoted', 'rejected_signature', 'rolled_back_nan' for rollouts; free-form details. */
  outcome: string;
  /** Mean absolute error per horizon in seconds, for 'accuracy'. */
  maePerHorizon?: Record<string, number>;
  atMs: number;
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
  /** Number of readings kept, of one gateway or of all. */
  countReadings(gatewayId?: string): Promise<number>;
  /** Readings of one sensor with wallTimeMs in [fromMs, toMs), oldest first, at most `limit`. */
  readings(gatewayId: string, sensorId: string, fromMs: number, toMs: number, limit: number): Promise<CentralReading[]>;
  /** Every (gateway, sensor) with at least one reading. */
  sensors(): Promise<Array<{ gatewayId: string; sensorId: string }>>;
  addReport(gatewayId: string, report: ModelReport): Promise<number>;
  /** Newest first, at most `limit`. */
  reports(gatewayId: string, limit: number): Promise<StoredReport[]>;
  close(): Promise<void>;
}

/** Upper bound of one ingest call, in readings (the HTTP layer enforces it before storage). */
export const MAX_INGEST_READINGS = 10_000;
/** Upper bound of readings()' and reports()' `limit`. */
export const MAX_QUERY_LIMIT = 1_000_000;

export const GATEWAY_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
