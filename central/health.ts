import type { HealthCheck } from '../gateway/health/health.ts';
import type { CentralApp } from './app.ts';

/**
 * The central server's watchdog checks: its HTTP listener answers on loopback, and its storage
 * answers a query. Both must pass before systemd's watchdog is pinged, so a server whose
 * database connection wedged is restarted instead of accepting ingests it cannot store.
 */
export function centralHealthChecks(app: CentralApp): HealthCheck[] {
  return [
    {
      name: 'http',
      run: async (signal) => {
        const res = await fetch(`http://127.0.0.1:${app.port}/v1/health`, { signal });
        return { ok: res.ok, detail: `GET /v1/health answered ${res.status}` };
      },
    },
    {
      name: 'storage',
      run: async () => {
        const readings = await app.storage.countReadings();
        return { ok: true, detail: `${readings} readings stored` };
      },
    },
  ];
}
