import type { StoredReading } from '../store/store.ts';
import { CodedError } from '../coded-error.ts';

/**
 * The store as the uplink sees it (implemented by SqliteStore). Only durable (flushed) readings
 * are offered: a reading is never sent before it could survive a gateway crash.
 */
export interface UnsyncedSource {
  /** Unsynced stored readings with id > afterId, by increasing id, at most `limit`. */
  unsyncedAfter(afterId: number, limit: number): StoredReading[];
  /** Marks the stored readings with afterId < id <= upToId as delivered; returns how many changed. */
  markSyncedRange(afterId: number, upToId: number): number;
  /** How many stored readings wait for sync and the wall time of the oldest (a full scan: call sparingly). */
  unsyncedBacklog(): { count: number; oldestWallMs: number | null };
}

/** The central server's durable "stored up to here" for one (sensor, boot). */
export interface SyncMark {
  sensorId: string;
  bootId: string;
  seq: number;
}

export interface SyncAck {
  marks: SyncMark[];
  /** Bytes of the request body on the wire (after compression). */
  wireBytes: number;
}

export type SyncErrorCode =
  | 'SYNC_UNREACHABLE' // no connection (refused, reset, DNS, host unreachable): the server is down or the link is
  | 'SYNC_TIMEOUT' // no answer within requestTimeoutMs
  | 'SYNC_SERVER_ERROR' // 5xx: the server is up but could not store the batch
  | 'SYNC_REJECTED' // 4xx: token, schema or size refused; retried slowly, an operator must act
  | 'SYNC_BAD_ACK'; // the answer did not cover the batch; nothing is marked

export class SyncError extends CodedError<SyncErrorCode> {
  override readonly name = 'SyncError';
}

/**
 * SYNC_REJECTED naming one reading of the batch (its index) as the reason: the server would store
 * the others. The uplink sends the readings before it and sets it aside (SyncStatus.refusedTotal).
 */
export class ReadingRefusedError extends SyncError {
  constructor(
    readonly index: number,
    message: string,
  ) {
    super('SYNC_REJECTED', message);
  }
}

/** Carries one batch to the central server. send() rejects only with a SyncError. */
export interface SyncTransport {
  send(readings: readonly StoredReading[]): Promise<SyncAck>;
  /** A cheap reachability probe (a TCP connect, no request); never rejects. */
  reachable(): Promise<boolean>;
  close(): void;
}

/** What the uplink publishes on the bus (MQTT, metrics, dashboard). */
export interface SyncStatus {
  state: 'idle' | 'sending' | 'backoff' | 'stopped';
  /** Stored readings not yet confirmed by the server (refreshed at most every statusIntervalMs). */
  backlog: number;
  /** Age of the oldest unsynced reading in ms, null when none. */
  oldestUnsyncedAgeMs: number | null;
  /** Wall time of the last batch the server confirmed, null before the first. */
  lastSuccessMs: number | null;
  consecutiveFailures: number;
  lastErrorCode: SyncErrorCode | null;
  /** Readings confirmed since start. */
  syncedTotal: number;
  /**
   * Readings the server refused one by one since start (a field it cannot take): set aside, kept
   * in the gateway's store but never sent again, each logged with the server's reason.
   */
  refusedTotal: number;
}
