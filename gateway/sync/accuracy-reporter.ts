import type { AccuracyDetail, ModelReport } from '../../central/storage/storage.ts';
import type { Clock } from '../clock.ts';
import { errorCode } from '../coded-error.ts';
import type { ModelAccuracy } from '../forecast/forecast-log.ts';
import { SerialPasses } from './serial-passes.ts';

/** Where the rolling error comes from (ForecastLog.accuracy()); may throw (a busy database). */
export interface AccuracySource {
  accuracy(): ModelAccuracy[];
}

/** An 'accuracy' report as POST /v1/reports takes it (central/server.ts). */
export type AccuracyReport = ModelReport & { kind: 'accuracy'; accuracy: AccuracyDetail };

export interface AccuracyReporterOptions {
  source: AccuracySource;
  /** Delivers one report; resolves once the server stored it, rejects with a coded error (report-client.ts). */
  send: (report: AccuracyReport) => Promise<void>;
  clock: Clock;
  /** Time between two reports, ms (sync.accuracyReportIntervalMs, default 1 h). */
  intervalMs: number;
  /** Delay of the first report after start, ms. Default intervalMs. */
  firstReportDelayMs?: number;
  /** Bound of the reports waiting for delivery; past it the oldest are dropped (onDropped). Default 1000. */
  maxPending?: number;
  /** A failed pass: the source could not be read, or a send failed (its report is retried next pass unless refused). */
  onError: (err: unknown) => void;
  /** Reports given up: dropped past maxPending, or refused by the server (SYNC_REJECTED, logged by onError too). */
  onDropped: (count: number, why: 'overflow' | 'rejected') => void;
}

export const DEFAULT_MAX_PENDING_ACCURACY_REPORTS = 1000;

export interface AccuracyReporterStats {
  pending: number;
  sent: number;
  dropped: number;
}

/**
 * Every intervalMs, takes the forecast log's rolling error of each (sensor, model) and posts
 * it to the central server as one 'accuracy' report, stamped with the gateway's time of the
 * snapshot. Reports that cannot be delivered (server down, 5xx, timeout) wait in a bounded
 * queue and go first, oldest first, at the next pass; a report the server refuses (4xx) would
 * be refused again and is dropped (onDropped), so it cannot hold the queue up. The queue is in
 * memory: what is still pending at stop() is counted in the answer, not kept (the snapshot
 * after a restart recomputes the window from the forecasts table). It runs on its own timer,
 * independent of the reading uplink, and one pass at a time.
 */
export class AccuracyReporter {
  private readonly passes: SerialPasses;
  private pending: AccuracyReport[] = [];
  private sent = 0;
  private dropped = 0;
  private readonly maxPending: number;
  /** Set by stop(): the pass in flight ends after the send it is waiting for, not after the whole queue. */
  private stopping = false;

  constructor(private readonly o: AccuracyReporterOptions) {
    if (!(o.intervalMs >= 1)) throw new RangeError(`intervalMs must be >= 1 (got ${o.intervalMs})`);
    this.maxPending = o.maxPending ?? DEFAULT_MAX_PENDING_ACCURACY_REPORTS;
    if (!(this.maxPending >= 1)) throw new RangeError(`maxPending must be >= 1 (got ${this.maxPending})`);
    this.passes = new SerialPasses(o.clock, o.intervalMs, () => this.reportNow());
  }

  start(): void {
    this.passes.start(this.o.firstReportDelayMs ?? this.o.intervalMs);
  }

  /** Stops the timer, waits for a pass in flight, and answers how many reports were left undelivered. */
  async stop(): Promise<number> {
    this.stopping = true;
    await this.passes.stop();
    return this.pending.length;
  }

  stats(): AccuracyReporterStats {
    return { pending: this.pending.length, sent: this.sent, dropped: this.dropped };
  }

  /** One pass now: a new snapshot, then every pending report in order. Never rejects. */
  async reportNow(): Promise<void> {
    this.enqueue(this.snapshot());
    while (this.pending.length > 0 && !this.stopping) {
      try {
        await this.o.send(this.pending[0]!);
        this.sent++;
      } catch (err) {
        this.o.onError(err);
        if (errorCode(err) !== 'SYNC_REJECTED') return;
        this.drop(1, 'rejected');
      }
      this.pending.shift();
    }
  }

  private snapshot(): AccuracyReport[] {
    try {
      const atMs = this.o.clock.now();
      return this.o.source
        .accuracy()
        .map((a) => toReport(a, atMs))
        .filter((r) => r.accuracy.horizons.length > 0);
    } catch (err) {
      this.o.onError(err);
      return [];
    }
  }

  private enqueue(reports: AccuracyReport[]): void {
    this.pending.push(...reports);
    const over = this.pending.length - this.maxPending;
    if (over <= 0) return;
    this.pending.splice(0, over);
    this.drop(over, 'overflow');
  }

  private drop(count: number, why: 'overflow' | 'rejected'): void {
    this.dropped += count;
    this.o.onDropped(count, why);
  }
}

/** The forecast log's snake_case rolling error as the central server's report (scored horizons only). */
export function toReport(a: ModelAccuracy, atMs: number): AccuracyReport {
  const horizons = a.horizons
    .filter((h) => h.mae !== null && h.n > 0)
    .map((h) => ({
      horizonS: h.horizon_s,
      mae: h.mae!,
      n: h.n,
      ...(h.coverage === null || h.coverage === undefined ? {} : { coverage: h.coverage }),
      ...(h.band_scale ? { bandScale: h.band_scale } : {}),
    }));
  return {
    kind: 'accuracy',
    modelVersion: a.model_version,
    outcome: 'live',
    atMs,
    maePerHorizon: Object.fromEntries(horizons.map((h) => [String(h.horizonS), h.mae])),
    accuracy: { sensorId: a.sensor, windowS: a.window_s, horizons },
  };
}
