// The footer line of operator figures, from GET /api/status. Pure: no DOM.

/** How often the page asks for /api/status; the figures change slowly. */
export const STATUS_INTERVAL_MS = 10_000;

function size(bytes) {
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} kB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}

/** "MQTT clients 2 · store 3,410 readings, 1.2 MB · evicted 0 thinned, 0 dropped · sync backlog 0"; parts that are null are left out. */
export function statusText(status) {
  if (typeof status !== 'object' || status === null) return '';
  const parts = [];
  if (typeof status.mqttClients === 'number') parts.push(`MQTT clients ${status.mqttClients}`);
  if (status.store && typeof status.store.readings === 'number') {
    parts.push(`store ${status.store.readings.toLocaleString('en-US')} readings, ${size(status.store.bytes)}`);
  }
  const ev = status.store?.evictions;
  if (ev && typeof ev.thinned === 'number') {
    const dropped = ev.dropped_synced + ev.dropped_unsynced;
    parts.push(`evicted ${ev.thinned.toLocaleString('en-US')} thinned, ${dropped.toLocaleString('en-US')} dropped`);
  }
  if (typeof status.syncBacklog === 'number') parts.push(`sync backlog ${status.syncBacklog.toLocaleString('en-US')}`);
  return parts.join(' · ');
}
