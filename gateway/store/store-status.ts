import type { Aedes } from 'aedes';
import type { Clock } from '../clock.ts';
import type { StoreStats } from './store.ts';

/** How often the store status is re-published, in ms (the message is retained, so late subscribers get it at once). */
export const DEFAULT_STORE_STATUS_INTERVAL_MS = 60_000;

export interface StoreStatusOptions {
  aedes: Pick<Aedes, 'publish'>;
  /** Topic prefix; the status goes to `<prefix>/bridge/store`. */
  prefix: string;
  clock: Clock;
  stats: () => StoreStats | null;
  /** Bytes of the budget, shown next to the size. */
  retentionBytes: number;
  /** Default DEFAULT_STORE_STATUS_INTERVAL_MS. */
  intervalMs?: number;
  /** The one error route: a failed publish (the timer keeps running). */
  onError: (err: unknown) => void;
}

/** The retained JSON on `<prefix>/bridge/store` (docs/mqtt.md, docs/storage.md). */
export function encodeStoreStatus(stats: StoreStats, retentionBytes: number, timeMs: number): string {
  return JSON.stringify({
    readings: stats.readings,
    bytes: stats.bytes,
    retention_bytes: retentionBytes,
    pending: stats.pending,
    dropped_buffer_full: stats.dropped,
    duplicates: stats.duplicates,
    evictions: stats.evictions,
    write_error: stats.writeError,
    time: new Date(timeMs).toISOString(),
  });
}

/**
 * Publishes the store's counters (evictions by kind, write error, size) retained on
 * `<prefix>/bridge/store` now and every intervalMs; returns a function that stops the timer.
 */
export function startStoreStatus(options: StoreStatusOptions): () => void {
  const topic = `${options.prefix}/bridge/store`;
  const publish = (): void => {
    const stats = options.stats();
    if (stats === null) return;
    const payload = Buffer.from(encodeStoreStatus(stats, options.retentionBytes, options.clock.now()), 'utf8');
    options.aedes.publish({ cmd: 'publish', topic, payload, qos: 0, retain: true, dup: false }, (err?: Error) => {
      if (err) options.onError(err);
    });
  };
  publish();
  const handle = options.clock.setInterval(publish, options.intervalMs ?? DEFAULT_STORE_STATUS_INTERVAL_MS);
  handle.unref?.();
  return () => options.clock.clearInterval(handle);
}
