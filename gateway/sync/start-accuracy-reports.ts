import type { Clock } from '../clock.ts';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import { AccuracyReporter, type AccuracySource } from './accuracy-reporter.ts';
import { postReport } from './report-client.ts';

export interface StartAccuracyReportsOptions {
  sync: Config['sync'];
  /** The forecast log's rolling error; an empty answer while forecasting is off or not open yet. */
  source: AccuracySource;
  clock: Clock;
  logger: Logger;
}

/**
 * Starts posting the live forecast error to the central server every
 * sync.accuracyReportIntervalMs when sync is on; null otherwise. Failures are logged (at most
 * one line per pass) and retried at the next pass; the reading uplink is not involved.
 */
export function startAccuracyReports(o: StartAccuracyReportsOptions): { reporter: AccuracyReporter; stop(): Promise<void> } | null {
  if (!o.sync.enabled) return null;
  const client = { url: o.sync.url, token: o.sync.token, timeoutMs: o.sync.requestTimeoutMs };
  const reporter = new AccuracyReporter({
    source: o.source,
    send: (report) => postReport(client, report),
    clock: o.clock,
    intervalMs: o.sync.accuracyReportIntervalMs,
    onError: (err) => o.logger.warn({ err, pending: reporter.stats().pending }, 'accuracy report not delivered; retried at the next interval'),
    onDropped: (count, why) => o.logger.warn({ count, why }, 'accuracy reports dropped'),
  });
  reporter.start();
  return {
    reporter,
    async stop() {
      const undelivered = await reporter.stop();
      if (undelivered > 0) o.logger.warn({ undelivered }, 'accuracy reports not delivered before stop');
    },
  };
}
