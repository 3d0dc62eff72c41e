import type { Clock, TimerHandle } from '../clock.ts';
import { backoffDelayMs, coveredUpToId } from './backoff.ts';
import type { StoredReading } from '../store/store.ts';
import { ReadingRefusedError, SyncError, type SyncErrorCode, type SyncStatus, type SyncTransport, type UnsyncedSource } from './sync-types.ts';

/**
 * Readings set aside one after another, with no batch accepted in between, before the uplink stops
 * setting them aside and backs off instead: a server that refuses every reading (a newer schema, a
 * bug) must stall sync visibly, not have the gateway skip its whole store.
 */
export const MAX_REFUSED_IN_A_ROW = 10;

export interface SyncUplinkOptions {
  source: UnsyncedSource;
  transport: SyncTransport;
  clock: Clock;
  /** Uniform in [0, 1); injected so tests fix the jitter. Default Math.random. */
  random?: () => number;
  /** Readings per batch (bounds the request and the memory of one send). Default 2000. */
  batchSize?: number;
  /** How often to look for new readings once the backlog is drained, in ms. Default 1000. */
  idlePollMs?: number;
  /** First backoff ceiling after a failure, in ms; doubles per failure. Default 250. */
  backoffBaseMs?: number;
  /** Largest backoff, in ms. Default 60 000. */
  backoffCapMs?: number;
  /**
   * While backing off from a connection-level failure, probe the server with a TCP connect this
   * often, in ms, and retry at once when it answers. Default 1000: with the probe's own time this
   * resumes sync within about 1.5 s of the server coming back, whatever the backoff has grown to,
   * at the cost of one SYN per second while the server is away (no request body is re-sent).
   */
  probeIntervalMs?: number;
  /** Bandwidth cap in bytes per second on the wire (compressed); null for none. Default null. */
  maxBytesPerSecond?: number | null;
  /** How often the backlog is counted (a scan of the store), in ms. Default 5000. */
  statusIntervalMs?: number;
  /** Called with every status change (the composition root forwards it to the bus). */
  onStatus?: (status: SyncStatus) => void;
  /** Called with each reading the server refused and the uplink set aside, and the server's reason. */
  onRefused?: (reading: StoredReading, reason: string) => void;
}

/**
 * Drains the store's unsynced readings to the central server, oldest first, in bounded batches.
 * Exactly once, end to end: a batch is re-sent until the server answers with durable marks
 * covering it (the server ignores readings it already has), and the store's synced flag advances
 * only past what the marks cover. A crash between the server's commit and markSyncedRange() causes a
 * re-send, which the server's idempotent ingest turns into duplicates it drops.
 * One batch is in flight at a time. Errors never escape: they become status and a backoff.
 */
export class SyncUplink {
  private readonly o: Required<Omit<SyncUplinkOptions, 'maxBytesPerSecond' | 'onStatus' | 'onRefused'>> & Pick<SyncUplinkOptions, 'maxBytesPerSecond' | 'onStatus' | 'onRefused'>;
  private cursor = 0;
  /** The reading the server named as refused: the readings before it go first, then it is set aside. */
  private refused: { reading: StoredReading; reason: string } | null = null;
  private refusedInARow = 0;
  private timer: TimerHandle | null = null;
  private probeTimer: TimerHandle | null = null;
  private inFlight: Promise<void> | null = null;
  private running = false;
  private lastBacklogAt = Number.NEGATIVE_INFINITY;
  private readonly status: SyncStatus = {
    state: 'stopped',
    backlog: 0,
    oldestUnsyncedAgeMs: null,
    lastSuccessMs: null,
    consecutiveFailures: 0,
    lastErrorCode: null,
    syncedTotal: 0,
    refusedTotal: 0,
  };

  constructor(options: SyncUplinkOptions) {
    this.o = {
      random: Math.random,
      batchSize: 2000,
      idlePollMs: 1000,
      backoffBaseMs: 250,
      backoffCapMs: 60_000,
      probeIntervalMs: 1000,
      statusIntervalMs: 5000,
      ...options,
    };
    for (const key of ['batchSize', 'idlePollMs', 'backoffBaseMs', 'backoffCapMs', 'probeIntervalMs', 'statusIntervalMs'] as const) {
      const v = this.o[key];
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`sync option ${key} must be a positive integer (got ${String(v)})`);
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops scheduling and waits for the batch in flight (its ack is still applied). */
  async stop(): Promise<void> {
    this.running = false;
    this.clearTimers();
    await this.inFlight;
    this.setState('stopped');
  }

  snapshot(): SyncStatus {
    return { ...this.status };
  }

  /** Sends one batch now (tests and the bench drive the uplink with this). Resolves false when nothing was left. */
  async step(): Promise<boolean> {
    let batch = this.o.source.unsyncedAfter(this.cursor, this.o.batchSize);
    const refused = this.refused;
    if (refused !== null) {
      const at = batch.findIndex((r) => r.id === refused.reading.id);
      if (at === 0) return this.setAside(refused.reading, refused.reason);
      if (at > 0) batch = batch.slice(0, at);
      else this.refused = null; // evicted from the store meanwhile
    }
    if (batch.length === 0) {
      this.refreshBacklog(true);
      this.setState('idle');
      return false;
    }
    this.setState('sending');
    const started = this.o.clock.monotonic();
    let ack;
    try {
      ack = await this.o.transport.send(batch);
    } catch (err) {
      const named = err instanceof ReadingRefusedError ? batch[err.index] : undefined;
      if (named === undefined || this.refusedInARow >= MAX_REFUSED_IN_A_ROW) throw err;
      this.refused = { reading: named, reason: (err as Error).message };
      return true;
    }
    const upTo = coveredUpToId(batch, ack.marks);
    if (upTo > 0) {
      this.o.source.markSyncedRange(this.cursor, upTo);
      this.cursor = upTo;
      this.status.syncedTotal += batch.filter((r) => r.id <= upTo).length;
      this.status.lastSuccessMs = this.o.clock.now();
    }
    if (upTo !== batch[batch.length - 1]?.id) throw new SyncError('SYNC_BAD_ACK', `the server's marks cover ${upTo > 0 ? 'part' : 'none'} of the batch`);
    this.status.consecutiveFailures = 0;
    this.status.lastErrorCode = null;
    this.refusedInARow = 0;
    this.refreshBacklog(false);
    this.pace(ack.wireBytes, this.o.clock.monotonic() - started);
    return true;
  }

  /**
   * Marks a reading the server refused as done without sending it again: it stays in the store
   * (and in backups of it), but one bad field no longer holds back every reading after it.
   */
  private setAside(reading: StoredReading, reason: string): boolean {
    this.o.source.markSyncedRange(this.cursor, reading.id);
    this.cursor = reading.id;
    this.refused = null;
    this.refusedInARow++;
    this.status.refusedTotal++;
    this.o.onRefused?.(reading, reason);
    this.refreshBacklog(false);
    return true;
  }

  private paceDelayMs = 0;

  /** With a bandwidth cap, the next batch waits until this one's bytes fit the cap. */
  private pace(wireBytes: number, tookMs: number): void {
    const cap = this.o.maxBytesPerSecond;
    this.paceDelayMs = cap === null || cap === undefined ? 0 : Math.max(0, Math.ceil((wireBytes * 1000) / cap - tookMs));
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = null;
      this.inFlight = this.tick().finally(() => {
        this.inFlight = null;
      });
    }, delayMs);
  }

  private async tick(): Promise<void> {
    try {
      const sent = await this.step();
      this.schedule(sent ? this.paceDelayMs : this.o.idlePollMs);
    } catch (err) {
      this.onFailure(err);
    }
  }

  private onFailure(err: unknown): void {
    const code: SyncErrorCode = err instanceof SyncError ? err.code : 'SYNC_SERVER_ERROR';
    this.status.consecutiveFailures++;
    this.status.lastErrorCode = code;
    this.refreshBacklog(false);
    this.setState('backoff');
    this.schedule(backoffDelayMs(this.status.consecutiveFailures, this.o.backoffBaseMs, this.o.backoffCapMs, this.o.random));
    // Only when the server was unreachable does "it answers a connect" mean "retry now"; after a
    // 5xx or 4xx it was reachable all along and the backoff is the point.
    if (code === 'SYNC_UNREACHABLE' || code === 'SYNC_TIMEOUT') this.startProbing();
  }

  private startProbing(): void {
    if (!this.running || this.probeTimer !== null) return;
    this.probeTimer = this.o.clock.setTimeout(() => {
      void this.o.transport.reachable().then((up) => {
        this.probeTimer = null;
        if (!this.running || this.timer === null) return; // a retry already ran
        if (!up) return this.startProbing();
        this.o.clock.clearTimeout(this.timer);
        this.timer = null;
        this.schedule(0);
      });
    }, this.o.probeIntervalMs);
  }

  private clearTimers(): void {
    if (this.timer !== null) this.o.clock.clearTimeout(this.timer);
    if (this.probeTimer !== null) this.o.clock.clearTimeout(this.probeTimer);
    this.timer = null;
    this.probeTimer = null;
  }

  private refreshBacklog(force: boolean): void {
    const now = this.o.clock.monotonic();
    if (!force && now - this.lastBacklogAt < this.o.statusIntervalMs) return;
    this.lastBacklogAt = now;
    try {
      const b = this.o.source.unsyncedBacklog();
      this.status.backlog = b.count;
      this.status.oldestUnsyncedAgeMs = b.oldestWallMs === null ? null : Math.max(0, this.o.clock.now() - b.oldestWallMs);
    } catch {
      // the store is closing; keep the last known figures
    }
  }

  private setState(state: SyncStatus['state']): void {
    this.status.state = state;
    this.o.onStatus?.({ ...this.status });
  }
}
