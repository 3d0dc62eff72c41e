import type { Clock } from '../clock.ts';
import type { Config } from '../config/schema.ts';
import type { GatewayBus } from '../events.ts';
import type { StoredReading } from '../store/store.ts';
import { HttpSyncTransport } from './http-transport.ts';
import type { UnsyncedSource } from './sync-types.ts';
import { SyncUplink } from './uplink.ts';

/**
 * Builds and starts the uplink from `sync` config; its status goes on the bus as 'sync' events
 * (MQTT, metrics and the dashboard subscribe there). Returns null when sync is disabled.
 */
export function startSync(
  config: Config['sync'],
  source: UnsyncedSource,
  bus: GatewayBus,
  clock: Clock,
  onRefused?: (reading: StoredReading, reason: string) => void,
): { stop(): Promise<void>; uplink: SyncUplink } | null {
  if (!config.enabled) return null;
  const transport = new HttpSyncTransport({ url: config.url, token: config.token, requestTimeoutMs: config.requestTimeoutMs });
  const uplink = new SyncUplink({
    source,
    transport,
    clock,
    batchSize: config.batchSize,
    idlePollMs: config.idlePollMs,
    backoffBaseMs: config.backoffBaseMs,
    backoffCapMs: config.backoffCapMs,
    probeIntervalMs: config.probeIntervalMs,
    maxBytesPerSecond: config.maxBytesPerSecond === 0 ? null : config.maxBytesPerSecond,
    onStatus: (status) => bus.emit('sync', status),
    ...(onRefused ? { onRefused } : {}),
  });
  uplink.start();
  return {
    uplink,
    async stop() {
      // Closing the transport first aborts a request in flight (its sockets are destroyed), so a
      // server that accepted the batch but never answers cannot hold the shutdown for
      // requestTimeoutMs; the batch is re-sent at the next start, and central drops what it has.
      const stopped = uplink.stop();
      transport.close();
      await stopped;
    },
  };
}
