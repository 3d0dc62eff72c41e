import { systemClock } from '../gateway/clock.ts';
import { GatewayBus } from '../gateway/events.ts';
import { GatewayMetrics } from '../gateway/metrics.ts';
import type { Reading } from '../gateway/types.ts';
import { cpuMicros, emit } from './figure.ts';

/**
 * What metrics cost the gateway: (1) CPU added to every reading on the bus by the per-sensor
 * counter, against the same bus with no metrics listening (the peer), and (2) the time of one
 * /metrics scrape (render of the whole registry, process metrics included) with 32 sensors and
 * 4 sources x 5 reject reasons, the most the config allows in practice.
 */
const SENSORS = 32;
const READINGS = 1_000_000;
const SCRAPES = 500;

function readings(): Reading[] {
  return Array.from({ length: SENSORS }, (_, i) => ({ sensorId: `s-${i}`, bootId: 'b', seq: 0, uptimeMs: 0, wallTimeMs: 0, rh: 40, tempC: 20, quality: [] }));
}

/** CPU microseconds per reading for emitting READINGS readings on `bus`. */
function perReading(bus: GatewayBus, rs: Reading[]): number {
  const t0 = cpuMicros();
  for (let i = 0; i < READINGS; i++) bus.emit('reading', rs[i % SENSORS] as Reading);
  return (cpuMicros() - t0) / READINGS;
}

export async function main(): Promise<void> {
  const rs = readings();
  const bare = new GatewayBus();
  bare.on('reading', () => {}); // the peer: a bus with one (empty) listener, as without metrics
  const bus = new GatewayBus();
  bus.on('reading', () => {});
  const metrics = new GatewayMetrics({
    bus,
    clock: systemClock,
    sources: {
      storeStats: () => ({ readings: 1e6, bytes: 5e8, pending: 10, flushes: 1, duplicates: 0, dropped: 0, evictions: { thinned: 0, dropped_synced: 0, dropped_unsynced: 0 }, writeError: null }),
      brokerClients: () => 3,
      dashboard: () => ({ clients: 2, droppedSlow: 0, droppedDead: 0, refusedFull: 0 }),
      model: () => ({ version: 'v1', path: 'm', stepS: 600, windowSteps: 36, horizonsS: [600], intervalLevel: 0.8 }),
      syncBacklog: () => 0,
    },
  });
  metrics.start();
  perReading(bare, rs); // warm-up both paths before measuring
  perReading(bus, rs);
  const peer = perReading(bare, rs);
  const withMetrics = perReading(bus, rs);
  emit({ bench: 'metrics', figure: 'bus_cpu_per_reading', value: withMetrics, unit: 'µs/reading', peer: 'bus without metrics', peer_value: peer });

  for (let s = 0; s < 4; s++) for (let r = 0; r < 5; r++) bus.emit('rejected', `source-${s}`, `reason-${r}`);
  await metrics.render();
  const t0 = performance.now();
  let bytes = 0;
  for (let i = 0; i < SCRAPES; i++) bytes = (await metrics.render()).body.length;
  emit({ bench: 'metrics', figure: 'scrape_ms', value: (performance.now() - t0) / SCRAPES, unit: 'ms/scrape', body_bytes: bytes });
  metrics.stop();
}
