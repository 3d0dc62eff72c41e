import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import pino from 'pino';
import { startDashboard } from '../gateway/dashboard/server.ts';
import { MemoryDashboardData } from '../gateway/dashboard/memory-data.ts';
import { GatewayBus } from '../gateway/events.ts';
import type { HistoryPoint } from '../gateway/forecast/forecaster.ts';
import { OnnxForecaster } from '../gateway/forecast/onnx-forecaster.ts';
import { emit } from './figure.ts';

/**
 * (1) In-process forecast latency of the shipped model: OnnxForecaster.forecast() with a
 * realistic history (24 h 20 min of one reading every 10 s, replayed from the shared RH_1
 * series), median and p99 over 10,000 calls, and forecasts per second (resampling included:
 * that is what the gateway pays per sensor and step).
 * (2) GET /api/forecast/<sensor> requests per second against the dashboard started in-process
 * on 127.0.0.1:0 with a forecast present, measured with autocannon for ~10 s.
 */
const CALLS = 10_000;
const WARMUP_CALLS = 200;
const READING_EVERY_MS = 10_000;
const HISTORY_MS = (144 + 2) * 600_000;
const HTTP_DURATION_S = 10;
const HTTP_CONNECTIONS = 10;

const repoRoot = path.resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}
const autocannon = require('autocannon') as (opts: { url: string; connections: number; duration: number }) => Promise<AutocannonResult>;

/** RH_1 of the shared data, 10-min rows interpolated to one reading every 10 s, ending at nowMs. */
function history(nowMs: number): HistoryPoint[] {
  const text = readFileSync(path.resolve(repoRoot, '../shared/data/appliances_rh_10min.train.csv'), 'utf8');
  const rows = text.split('\n').slice(1, 1 + Math.ceil(HISTORY_MS / 600_000) + 2).map((l) => Number(l.split(',')[1]));
  const out: HistoryPoint[] = [];
  const startMs = nowMs - HISTORY_MS;
  for (let t = startMs; t < nowMs; t += READING_EVERY_MS) {
    const x = (t - startMs) / 600_000;
    const i = Math.floor(x);
    const a = rows[i] ?? 50;
    const b = rows[i + 1] ?? a;
    out.push({ tMs: t, rh: a + (b - a) * (x - i) });
  }
  return out;
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

export async function main(): Promise<void> {
  const forecaster = await OnnxForecaster.load(path.join(repoRoot, 'models/hygrocast-rh.onnx'));
  const nowMs = Date.UTC(2026, 0, 1, 12, 5);
  const hist = history(nowMs);
  let last = await forecaster.forecast('bench', hist, nowMs);
  if (!('points' in last)) throw new Error(`bench history refused: ${last.reason} ${last.detail}`);
  for (let i = 0; i < WARMUP_CALLS; i++) await forecaster.forecast('bench', hist, nowMs);
  const times = new Float64Array(CALLS);
  const t0 = performance.now();
  for (let i = 0; i < CALLS; i++) {
    const s = performance.now();
    last = await forecaster.forecast('bench', hist, nowMs);
    times[i] = performance.now() - s;
  }
  const totalMs = performance.now() - t0;
  if (!('points' in last)) throw new Error('forecast failed during the bench');
  const forecast = last;
  times.sort();
  const extra = { history_points: hist.length, calls: CALLS };
  emit({ bench: 'forecast', figure: 'forecast_latency_median', value: quantile(times, 0.5) * 1000, unit: 'us', ...extra });
  emit({ bench: 'forecast', figure: 'forecast_latency_p99', value: quantile(times, 0.99) * 1000, unit: 'us', ...extra });
  emit({ bench: 'forecast', figure: 'forecasts_per_second', value: (CALLS / totalMs) * 1000, unit: 'forecasts/s', ...extra });
  await forecaster.close();

  const bus = new GatewayBus();
  const data = new MemoryDashboardData({ id: 'bench', version: '0', model: { version: forecast.modelVersion, horizonsS: forecast.points.map((p) => p.horizonS) }, startedAtMs: nowMs });
  const detach = data.attach(bus);
  // The API answers only for sensors it knows, i.e. that have sent a reading.
  const lastPoint = hist[hist.length - 1];
  bus.emit('reading', { sensorId: 'bench', bootId: 'b', seq: 0, uptimeMs: 0, wallTimeMs: lastPoint?.tMs ?? nowMs, rh: lastPoint?.rh ?? 50, tempC: 20, quality: [] });
  bus.emit('forecast', forecast);
  const dashboard = await startDashboard({ host: '127.0.0.1', port: 0, bus, data, logger: pino({ level: 'silent' }) });
  try {
    process.stderr.write(`autocannon ${HTTP_DURATION_S} s against GET /api/forecast/bench\n`);
    const r = await autocannon({ url: `http://127.0.0.1:${dashboard.port}/api/forecast/bench`, connections: HTTP_CONNECTIONS, duration: HTTP_DURATION_S });
    if (r.non2xx > 0 || r.errors > 0) throw new Error(`HTTP bench saw ${r.non2xx} non-2xx and ${r.errors} errors`);
    const httpExtra = { connections: HTTP_CONNECTIONS, duration_s: HTTP_DURATION_S, requests: r.requests.total, horizons: forecast.points.length };
    emit({ bench: 'forecast', figure: 'http_forecast_requests_per_second', value: r.requests.average, unit: 'req/s', ...httpExtra });
    emit({ bench: 'forecast', figure: 'http_forecast_latency_p99', value: r.latency.p99, unit: 'ms', ...httpExtra });
  } finally {
    await dashboard.close();
    detach();
  }
}
