import path from 'node:path';
import type { HistoryPoint } from '../gateway/forecast/forecaster.ts';
import { OnnxForecaster } from '../gateway/forecast/onnx-forecaster.ts';
import { readCsvColumn } from '../models/csv.ts';
import { naiveSecondsOfDay } from '../models/time-features.ts';
import { emit } from './figure.ts';

/**
 * Coverage of the published 80% band of a sensor that is warming up: the shipped model on the
 * shared RH_1 series, forecast from only the last K ten-minute steps of history (1 step, 1 h,
 * 3 h, 6 h, 12 h; the window is 24 h), at every 7th step of the file, scored against the step
 * mean at 10 min, 1 h and 6 h. The figure is the mean coverage over the three horizons with
 * the warm-up floor (gateway/forecast/onnx-forecaster.ts floorBand); the peer is the model's own
 * band from the same windows. In-sample for the shipped weights (they saw the whole file): the
 * point is the difference the floor makes, not the level.
 */
const STEP_MS = 600_000;
const EVERY = 7;
const HORIZONS_S = [600, 3600, 21_600];
const HISTORY_STEPS = [1, 6, 18, 36, 72];

const repoRoot = path.resolve(import.meta.dirname, '..');

async function coverage(f: OnnxForecaster, t: number[], v: number[], keep: number): Promise<number> {
  let inside = 0;
  let n = 0;
  const maxH = (Math.max(...HORIZONS_S) * 1000) / STEP_MS;
  for (let a = keep; a + maxH < v.length; a += EVERY) {
    const hist: HistoryPoint[] = [];
    for (let i = a - keep + 1; i <= a; i++) hist.push({ tMs: t[i]!, rh: v[i]! });
    // Just after the step starting at t[a] has ended: the window ends with that step.
    const r = await f.forecast('bench', hist, t[a]! + STEP_MS + 1000);
    if (!('points' in r)) throw new Error(`window at ${new Date(t[a]!).toISOString()} refused: ${r.reason} ${r.detail}`);
    for (const p of r.points) {
      if (!HORIZONS_S.includes(p.horizonS)) continue;
      const truth = v[a + (p.horizonS * 1000) / STEP_MS]!;
      inside += truth >= p.lower && truth <= p.upper ? 1 : 0;
      n++;
    }
  }
  return inside / n;
}

export async function main(): Promise<void> {
  const series = await readCsvColumn(path.resolve(repoRoot, '../shared/data/appliances_rh_10min.train.csv'), 'RH_1');
  if (series.values.some((x) => x === null)) throw new Error('RH_1 has gaps; this bench expects the shared file whole');
  const values = series.values as number[];
  const model = path.join(repoRoot, 'models/hygrocast-rh.onnx');
  const floored = await OnnxForecaster.load(model, { secondsOfDay: naiveSecondsOfDay });
  const own = await OnnxForecaster.load(model, { secondsOfDay: naiveSecondsOfDay, warmUpBandFloor: false });
  for (const keep of HISTORY_STEPS) {
    const withFloor = await coverage(floored, series.timesMs, values, keep);
    const modelBand = await coverage(own, series.timesMs, values, keep);
    const label = keep === 1 ? '10min' : `${(keep * 10) / 60}h`;
    emit({ bench: 'warmup-band', figure: `coverage80_history_${label}`, value: withFloor, unit: 'fraction', peer: 'model band (no floor)', peer_value: modelBand, horizons_s: HORIZONS_S });
  }
  await floored.close();
  await own.close();
}
