import type { HealthCheck } from '../gateway/health/health.ts';
import type { CentralApp } from './app.ts';

/**
 * The central server's watchdog checks: its HTTP listener answers at its address, and its storage
 * takes a write. Both must pass before systemd's watchdog is pinged, so a server whose
 * database connection wedged is restarted instead of accepting ingests it cannot store.
 */
export function centralHealthChecks(app: CentralApp): HealthCheck[] {
  return [
    {
      name: 'http',
      run: async (signal) => {
        // The address the server is bound to: with `host` a LAN address, 127.0.0.1 is refused.
        const host = app.localHost.includes(':') ? `[${app.localHost}]` : app.localHost;
        const res = await fetch(`http://${host}:${app.port}/v1/health`, { signal });
        return { ok: res.ok, detail: `GET /v1/health answered ${res.status}` };
      },
    },
    {
      name: 'storage',
      run: async () => {
        // A write, not only a read: a database that refuses writes answers every query but no ingest.
        await app.storage.writeHealthMark(Date.now());
        const readings = await app.storage.countReadings();
        return { ok: true, detail: `a write succeeded; ${readings} readings stored` };
      },
    },
  ];
}
