import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.ts';
import { GatewayBus } from './events.ts';
import type { Forecaster, ModelInfo } from './forecast/forecaster.ts';
import { GatewayMetrics, type MetricsSources } from './metrics.ts';
import { REJECTED_DEFAULT_METRICS } from './metrics-process.ts';
import type { StoreStats } from './store/store.ts';
import { requireTool } from '../test/prereq.ts';

const model: ModelInfo = { version: 'ridge-2026.11', path: 'm.onnx', stepS: 600, windowSteps: 12, horizonsS: [600, 3600], intervalLevel: 0.8 };
const stats: StoreStats = {
  readings: 42, bytes: 8192, pending: 3, flushes: 5, duplicates: 0, dropped: 2,
  evictions: { thinned: 7, dropped_synced: 1, dropped_unsynced: 0 }, writeError: null,
};

function setup(overrides: Partial<MetricsSources> = {}) {
  const bus = new GatewayBus();
  const clock = new ManualClock();
  const sources: MetricsSources = {
    storeStats: () => stats,
    brokerClients: () => 3,
    dashboard: () => ({ clients: 2, droppedSlow: 4, droppedDead: 1, refusedFull: 0 }),
    model: () => model,
    syncBacklog: () => 0,
    ...overrides,
  };
  const metrics = new GatewayMetrics({ bus, clock, sources });
  metrics.start();
  return { bus, clock, metrics };
}

/** The value of one sample line, e.g. value(text, 'hygrocast_readings_total{sensor="a"}'). */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GatewayMetrics', () => {
  it('counts readings lost in transit by source (seq gaps) from the bus', async () => {
    const { bus, metrics } = setup();
    bus.emit('lost', 'serial:/dev/ttyUSB0', 3);
    bus.emit('lost', 'serial:/dev/ttyUSB0', 2);
    const { body } = await metrics.render();
    expect(value(body, 'hygrocast_readings_lost_total{source="serial:/dev/ttyUSB0"}')).toBe(5);
  });

  it('counts readings by sensor and rejected lines by source and reason from the bus', async () => {
    const { bus, metrics } = setup();
    const reading = { bootId: 'b', seq: 1, uptimeMs: 0, wallTimeMs: 0, rh: 40, tempC: 20, quality: [] };
    bus.emit('reading', { ...reading, sensorId: 'a' });
    bus.emit('reading', { ...reading, sensorId: 'a' });
    bus.emit('reading', { ...reading, sensorId: 'b' });
    bus.emit('rejected', 'serial:/dev/ttyUSB0', 'crc');
    const { body } = await metrics.render();
    expect(value(body, 'hygrocast_readings_total{sensor="a"}')).toBe(2);
    expect(value(body, 'hygrocast_readings_total{sensor="b"}')).toBe(1);
    expect(value(body, 'hygrocast_rejected_lines_total{source="serial:/dev/ttyUSB0",reason="crc"}')).toBe(1);
    metrics.stop();
    bus.emit('reading', { ...reading, sensorId: 'a' });
    expect(value((await metrics.render()).body, 'hygrocast_readings_total{sensor="a"}')).toBe(2);
  });

  it('reads store, broker, dashboard and model state at scrape time', async () => {
    const { body } = await setup().metrics.render();
    expect(value(body, 'hygrocast_store_size_bytes')).toBe(8192);
    expect(value(body, 'hygrocast_store_readings')).toBe(42);
    expect(value(body, 'hygrocast_store_evictions_total{kind="thinned"}')).toBe(7);
    expect(value(body, 'hygrocast_store_dropped_readings_total')).toBe(2);
    expect(value(body, 'hygrocast_mqtt_clients')).toBe(3);
    expect(value(body, 'hygrocast_dashboard_clients')).toBe(2);
    expect(value(body, 'hygrocast_dashboard_dropped_clients_total{reason="slow"}')).toBe(4);
    expect(value(body, 'hygrocast_model_info{version="ridge-2026.11"}')).toBe(1);
    expect(value(body, 'hygrocast_sync_backlog_readings')).toBe(0);
  });

  it('reports zeros and no model series while components are not running', async () => {
    const { body } = await setup({ storeStats: () => null, brokerClients: () => null, dashboard: () => null, model: () => null }).metrics.render();
    expect(value(body, 'hygrocast_store_readings')).toBe(0);
    expect(value(body, 'hygrocast_mqtt_clients')).toBe(0);
    expect(body).not.toMatch(/^hygrocast_model_info\{/m);
  });

  it('times forecast calls on the injected monotonic clock', async () => {
    const { clock, metrics } = setup();
    const inner: Forecaster = {
      info: model,
      forecast: async (sensorId) => {
        clock.advance(30); // the model "takes" 30 ms
        return { sensorId, reason: 'no_history', detail: 'empty' };
      },
      close: async () => {},
    };
    const timed = metrics.timed(inner);
    expect(timed.info.version).toBe(model.version);
    await timed.forecast('a', [], 0);
    const { body } = await metrics.render();
    expect(value(body, 'hygrocast_forecast_duration_seconds_count{outcome="no_forecast"}')).toBe(1);
    expect(value(body, 'hygrocast_forecast_duration_seconds_sum{outcome="no_forecast"}')).toBeCloseTo(0.03, 6);
    expect(value(body, 'hygrocast_forecast_duration_seconds_bucket{le="0.025",outcome="no_forecast"}')).toBe(0);
    expect(value(body, 'hygrocast_forecast_duration_seconds_bucket{le="0.05",outcome="no_forecast"}')).toBe(1);
  });

  it('uses its own registry and drops the default gauges promtool rejects', async () => {
    const a = setup().metrics;
    const b = setup().metrics; // a second instance must not collide with the first
    expect(a.registry).not.toBe(b.registry);
    const { body } = await a.render();
    expect(body).toMatch(/^process_cpu_seconds_total /m);
    for (const bad of REJECTED_DEFAULT_METRICS) expect(body).not.toContain(`${bad} `);
    expect(body).toMatch(/^nodejs_active_handles\{type="/m); // the per-type counts stay
  });

  it('passes promtool check metrics', async () => {
    const promtool = requireTool('promtool');
    if (!promtool) return;
    const { bus, metrics } = setup();
    bus.emit('rejected', 'sim', 'bad_crc');
    const { body } = await metrics.render();
    // promtool exits non-zero and prints each problem on any error or lint warning.
    const out = execFileSync(promtool, ['check', 'metrics'], { input: body, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    expect(out.trim()).toBe('');
  });
});
