import { collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * prom-client's default gauges that `promtool check metrics` rejects: a gauge must not end in
 * `_total` (that suffix promises a counter). Nothing is lost by dropping them: prom-client also
 * exports the same counts split by type (`nodejs_active_handles{type="Socket"}` ...), and the sum
 * over `type` is the total.
 */
export const REJECTED_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'] as const;

/**
 * Registers prom-client's default process and Node.js metrics (CPU, memory, event-loop lag,
 * GC, file descriptors, active handles by type) on `registry`, minus the names promtool rejects.
 */
export function registerProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of REJECTED_DEFAULT_METRICS) registry.removeSingleMetric(name);
}
