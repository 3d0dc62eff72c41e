import type { Clock } from '../clock.ts';
import { TrailingThrottle } from '../trailing-throttle.ts';
import type { SyncStatus } from '../sync/sync-types.ts';

/** Retained JSON on `<prefix>/bridge/sync` (docs/mqtt.md). */
export interface SyncStatusPayload {
  state: SyncStatus['state'];
  /** Stored readings the central server has not confirmed yet. */
  backlog: number;
  /** Age of the oldest of them, s; null when none. */
  oldest_unsynced_age_s: number | null;
  /** ISO time of the last batch the server confirmed; null before the first. */
  last_success: string | null;
  consecutive_failures: number;
  /** Code of the last failure (SYNC_UNREACHABLE...), null once a batch succeeds. */
  last_error: string | null;
  synced_total: number;
  /** Readings central refused one by one (a field it cannot take), set aside; each is in the log. */
  refused_total: number;
  updated_at: string;
}

export function encodeSyncStatus(s: SyncStatus, nowMs: number): string {
  const payload: SyncStatusPayload = {
    state: s.state,
    backlog: s.backlog,
    oldest_unsynced_age_s: s.oldestUnsyncedAgeMs === null ? null : Math.round(s.oldestUnsyncedAgeMs / 1000),
    last_success: s.lastSuccessMs === null ? null : new Date(s.lastSuccessMs).toISOString(),
    consecutive_failures: s.consecutiveFailures,
    last_error: s.lastErrorCode,
    synced_total: s.syncedTotal,
    refused_total: s.refusedTotal,
    updated_at: new Date(nowMs).toISOString(),
  };
  return JSON.stringify(payload);
}

export interface SyncStatusPublisherOptions {
  clock: Clock;
  /** Publishes one payload retained on the sync topic. */
  publish: (payload: string) => Promise<void>;
  onError: (err: unknown) => void;
  /**
   * At most one publication per this many ms, ms. Default 5000: the uplink reports every state
   * change (several per second while it drains a backlog); the latest status always goes out
   * at the end of the interval, so the retained message is never more than this stale.
   */
  minIntervalMs?: number;
}

export const DEFAULT_SYNC_STATUS_INTERVAL_MS = 5000;

/** Throttles the uplink's status events into retained MQTT messages (latest wins). */
export class SyncStatusPublisher {
  private latest: SyncStatus | null = null;
  private readonly throttle: TrailingThrottle;

  constructor(private readonly o: SyncStatusPublisherOptions) {
    this.throttle = new TrailingThrottle(o.clock, o.minIntervalMs ?? DEFAULT_SYNC_STATUS_INTERVAL_MS, () => this.flush());
  }

  update(status: SyncStatus): void {
    this.latest = status;
    this.throttle.request();
  }

  stop(): void {
    void this.throttle.stop();
  }

  private flush(): void {
    const s = this.latest;
    if (s === null) return;
    this.latest = null;
    this.o.publish(encodeSyncStatus(s, this.o.clock.now())).catch(this.o.onError);
  }
}
