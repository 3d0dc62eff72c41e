import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractToMetadata, INPUT_RH, INPUT_TIME, OUTPUT_NAMES, METADATA_PREFIX } from '../../models/contract.ts';
import { floatTensor, floatValueInfo, int64Tensor, node, onnx } from '../../models/onnx-file.ts';
import { referenceForward } from '../../models/reference.ts';
import type { RidgeWeights } from '../../models/reference.ts';
import { buildRidgeModel } from '../../models/ridge-onnx.ts';
import { constantModel, nanModel, persistenceWeights, tempDir, testContract } from '../../models/test-fixtures.ts';
import type { TempDir } from '../../models/test-fixtures.ts';
import { naiveSecondsOfDay, timeFeatures } from '../../models/time-features.ts';
import type { Forecast } from '../types.ts';
import type { HistoryPoint, NoForecast } from './forecaster.ts';
import { floorBand, OnnxForecaster, warmUpHalfWidths } from './onnx-forecaster.ts';

const STEP_MS = 600_000;
/** A step boundary (multiple of 600 s): 2026-01-01T12:00:00Z. */
const T0 = Date.UTC(2026, 0, 1, 12);
/** Deterministic time of day for the tests: UTC instead of the process zone. */
const utcDay = { secondsOfDay: naiveSecondsOfDay };

let tmp: TempDir;
const open: OnnxForecaster[] = [];
beforeAll(async () => {
  tmp = await tempDir();
});
afterAll(async () => {
  for (const f of open) await f.close();
  await tmp.remove();
});

async function load(name: string, parts: Parameters<TempDir['write']>[1]): Promise<OnnxForecaster> {
  const f = await OnnxForecaster.load(await tmp.write(name, parts), utcDay);
  open.push(f);
  return f;
}

/** One reading every 10 s from `fromMs` (inclusive) to `toMs` (exclusive), value f(t). */
function readings(fromMs: number, toMs: number, f: (tMs: number) => number): HistoryPoint[] {
  const out: HistoryPoint[] = [];
  for (let t = fromMs; t < toMs; t += 10_000) out.push({ tMs: t, rh: f(t) });
  return out;
}

/** Value rising by 1 %RH per step, so every step mean is distinct. */
const ramp = (t: number): number => 40 + Math.floor((t - T0) / STEP_MS);

function isForecast(r: Forecast | NoForecast): r is Forecast {
  return 'points' in r;
}

describe('OnnxForecaster', () => {
  it('forecasts from the completed steps of a synthetic history, as the reference does', async () => {
    const c = testContract();
    const weights: RidgeWeights = {
      ...persistenceWeights(6, 3),
      wRh: Float32Array.from({ length: 18 }, (_, i) => (i % 5) * 0.01),
      wT: Float32Array.of(0.5, 0.2, -0.1, 0.3, 0.1, 0),
      b: Float32Array.of(0.1, 0.2, 0.3),
    };
    const f = await load('ridge.onnx', buildRidgeModel(weights, c));
    expect(f.info).toMatchObject({ version: 'test-1', stepS: 600, windowSteps: 6, horizonsS: [600, 1200, 1800], intervalLevel: 0.8 });
    const now = T0 + 7 * STEP_MS + 123_000; // step 7 in progress: steps 1..6 are the window
    const history = readings(T0, now, ramp);
    const result = await f.forecast('s1', history, now);
    if (!isForecast(result)) throw new Error(`expected a forecast, got ${JSON.stringify(result)}`);
    const lastStepStart = T0 + 6 * STEP_MS;
    const ref = referenceForward(weights, [41, 42, 43, 44, 45, 46], timeFeatures(naiveSecondsOfDay(lastStepStart)));
    expect(result.baseTimeMs).toBe(T0 + 7 * STEP_MS);
    expect(result.baseRh).toBe(46);
    expect(result.issuedAtMs).toBe(now);
    expect(result.warmingUp).toBe(false);
    expect(result.modelVersion).toBe('test-1');
    expect(result.intervalLevel).toBe(0.8);
    expect(result.points.map((p) => p.horizonS)).toEqual([600, 1200, 1800]);
    result.points.forEach((p, k) => {
      expect(p.rh).toBeCloseTo(ref.forecast[k] ?? NaN, 4);
      expect(p.lower).toBeCloseTo(ref.lower[k] ?? NaN, 4);
      expect(p.upper).toBeCloseTo(ref.upper[k] ?? NaN, 4);
    });
  });

  it('runs a model made the way docs/model-contract.md tells scikit-learn users to (skl2onnx LinearRegressor, Concat in front)', async () => {
    // What skl2onnx writes for a multi-output linear model on one input x = [rh window, sin, cos]
    // (ai.onnx.ml LinearRegressor, output "variable"), then the recipe's additions: a Concat of
    // the contract inputs into x, the band as constant offsets, the three contract outputs.
    const c = testContract({ modelVersion: 'sklearn-ridge-1' });
    const W = c.windowSteps;
    const H = c.horizonsS.length;
    const F = W + 2;
    // Target h: the last window value + h %RH + 0.5 * sin(time of day).
    const coefficients = Array.from({ length: H * F }, (_, i) => (i % F === W - 1 ? 1 : i % F === W ? 0.5 : 0));
    const A = onnx.AttributeProto.AttributeType;
    const f = await load('sklearn.onnx', {
      graphName: 'sklearn_ridge',
      extraOpsets: [{ domain: 'ai.onnx.ml', version: 1 }],
      initializers: [floatTensor('q_lo', [1, H], [-1.5, -2, -2.5]), floatTensor('q_hi', [1, H], [1.5, 2, 2.5])],
      nodes: [
        { ...node('Concat', [INPUT_RH, INPUT_TIME], ['x']), attribute: [{ name: 'axis', type: A.INT, i: 1 }] },
        {
          ...node('LinearRegressor', ['x'], ['variable']),
          domain: 'ai.onnx.ml',
          attribute: [
            { name: 'coefficients', type: A.FLOATS, floats: coefficients },
            { name: 'intercepts', type: A.FLOATS, floats: [1, 2, 3] },
            { name: 'targets', type: A.INT, i: H },
          ],
        },
        node('Identity', ['variable'], ['rh_forecast']),
        node('Add', ['variable', 'q_lo'], ['rh_lower']),
        node('Add', ['variable', 'q_hi'], ['rh_upper']),
      ],
      inputs: [floatValueInfo(INPUT_RH, ['N', W]), floatValueInfo(INPUT_TIME, ['N', 2])],
      outputs: OUTPUT_NAMES.map((name) => floatValueInfo(name, ['N', H])),
      metadata: contractToMetadata(c),
    });
    expect(f.info.version).toBe('sklearn-ridge-1');
    const now = T0 + 7 * STEP_MS + 123_000; // steps 1..6 are the window: 41..46 %RH
    const result = await f.forecast('s1', readings(T0, now, ramp), now);
    if (!isForecast(result)) throw new Error(`expected a forecast, got ${JSON.stringify(result)}`);
    const [sin] = timeFeatures(naiveSecondsOfDay(T0 + 6 * STEP_MS));
    result.points.forEach((p, k) => {
      const expected = 46 + (k + 1) + 0.5 * sin;
      expect(p.rh).toBeCloseTo(expected, 4);
      expect(p.lower).toBeCloseTo(expected - 1 - 0.5 * (k + 1), 4);
      expect(p.upper).toBeCloseTo(expected + 1 + 0.5 * (k + 1), 4);
    });
  });

  it('forecasts within seconds of the first readings, marked warming up', async () => {
    const f = await load('persist.onnx', buildRidgeModel(persistenceWeights(6, 3), testContract()));
    const start = T0 + 30_000;
    const now = start + 5_000;
    const result = await f.forecast('fresh', [{ tMs: start, rh: 55 }, { tMs: start + 1000, rh: 57 }], now);
    if (!isForecast(result)) throw new Error(`expected a forecast, got ${JSON.stringify(result)}`);
    expect(result.warmingUp).toBe(true);
    expect(result.baseTimeMs).toBe(T0 + STEP_MS);
    expect(result.points.map((p) => [p.rh, p.lower, p.upper])).toEqual([
      [56, 55, 57],
      [56, 55, 57],
      [56, 55, 57],
    ]);
  });

  it("widens a warming-up band to the model's validation error, fading as the window fills", async () => {
    // A persistence model with a band of +-1, whose validation MAE (2 %RH) says +-2 ln 5 = 3.22 %RH.
    const f = await load('persist-floor.onnx', buildRidgeModel(persistenceWeights(6, 3), testContract({ validationMae: { '600': 2, '1200': 2, '1800': 2 } })));
    const half = (r: Forecast | NoForecast): number[] => {
      if (!isForecast(r)) throw new Error(`expected a forecast, got ${JSON.stringify(r)}`);
      return r.points.map((p) => Math.round(((p.upper - p.lower) / 2) * 1000) / 1000);
    };
    const fullHalf = 2 * Math.log(5);
    // One step of history: 5 of the 6 steps padded.
    const now1 = T0 + STEP_MS + 1000;
    expect(half(await f.forecast('w', readings(T0, now1, () => 50), now1))).toEqual(Array(3).fill(Math.round(((5 / 6) * fullHalf) * 1000) / 1000));
    // Three steps: half the window padded.
    const now3 = T0 + 3 * STEP_MS + 1000;
    expect(half(await f.forecast('w', readings(T0, now3, () => 50), now3))).toEqual(Array(3).fill(Math.round((0.5 * fullHalf) * 1000) / 1000));
    // Five steps: 1/6 padded, 0.54 %RH: the model's own band (+-1) is wider and is kept.
    const now5 = T0 + 5 * STEP_MS + 1000;
    expect(half(await f.forecast('w', readings(T0, now5, () => 50), now5))).toEqual([1, 1, 1]);
    // A full window: the model's band, whatever its validation error.
    const now7 = T0 + 7 * STEP_MS + 1000;
    const full = await f.forecast('w', readings(T0, now7, () => 50), now7);
    expect(full).toMatchObject({ warmingUp: false });
    expect(half(full)).toEqual([1, 1, 1]);
  });

  it('clips a widened band to 0..100 %RH, never narrows one, and derives the floor from the contract', () => {
    expect(warmUpHalfWidths({ horizonsS: [600, 3600], validationMae: { '600': 0.131, '3600': 0.572 }, intervalLevel: 0.8 }).map((v) => Math.round(v * 1000) / 1000)).toEqual([0.211, 0.921]);
    expect(warmUpHalfWidths({ horizonsS: [600], validationMae: { '600': 1 }, intervalLevel: 0.9 })).toEqual([Math.log(10)]);
    const points = [
      { horizonS: 600, rh: 99, lower: 98, upper: 100 },
      { horizonS: 1200, rh: 50, lower: 40, upper: 60 },
    ];
    expect(floorBand(points, [3, 3], 1)).toEqual([
      { horizonS: 600, rh: 99, lower: 96, upper: 100 },
      { horizonS: 1200, rh: 50, lower: 40, upper: 60 },
    ]);
    expect(floorBand(points, [3, 3], 0)).toEqual(points);
  });

  it('reports the value its points continue from: the last step mean, held when that step has no reading', async () => {
    const f = await load('persist-base.onnx', buildRidgeModel(persistenceWeights(6, 3), testContract()));
    // Step 6 (the last completed) alternates 56 and 64: mean 60, newest reading 64.
    const alternating = readings(T0, T0 + 6 * STEP_MS, () => 50).concat(readings(T0 + 6 * STEP_MS, T0 + 7 * STEP_MS, (t) => ((t / 10_000) % 2 === 0 ? 56 : 64)));
    const now = T0 + 7 * STEP_MS + 5000;
    const made = await f.forecast('s1', alternating, now);
    if (!isForecast(made)) throw new Error(`expected a forecast, got ${JSON.stringify(made)}`);
    expect([made.baseRh, made.points[0]?.rh]).toEqual([60, 60]);
    // Nothing in steps 6 and 7: step 5's mean is held, and it is what the points continue from.
    const held = await f.forecast('s1', readings(T0, T0 + 6 * STEP_MS, ramp), now);
    if (!isForecast(held)) throw new Error(`expected a forecast, got ${JSON.stringify(held)}`);
    expect([held.baseRh, held.points[0]?.rh]).toEqual([45, 45]);
  });

  it('pads a history shorter than the window and says so', async () => {
    const f = await load('persist2.onnx', buildRidgeModel(persistenceWeights(6, 3), testContract()));
    const now = T0 + 2 * STEP_MS + 1000;
    const result = await f.forecast('short', readings(T0, now, ramp), now);
    if (!isForecast(result)) throw new Error(`expected a forecast, got ${JSON.stringify(result)}`);
    expect(result.warmingUp).toBe(true);
    expect(result.points[0]?.rh).toBe(41); // persistence of the last completed step
  });

  it('refuses empty, stale and gappy history with the reason', async () => {
    const f = await load('persist3.onnx', buildRidgeModel(persistenceWeights(6, 3), testContract()));
    const now = T0 + 8 * STEP_MS;
    expect(await f.forecast('a', [], now)).toEqual({ sensorId: 'a', reason: 'no_history', detail: 'no readings yet' });
    const stale = await f.forecast('b', readings(T0, now - 2 * STEP_MS - 1000, ramp), now);
    expect(stale).toMatchObject({ sensorId: 'b', reason: 'stale' });
    expect((stale as NoForecast).detail).toMatch(/newest reading is 1210 s old, more than 1200 s/);
    const gappy = [...readings(T0, T0 + 3 * STEP_MS, ramp), ...readings(T0 + 7 * STEP_MS, now, ramp)];
    // A long interior gap (e.g. a restart): forecast from the history after it, warming up.
    const r = await f.forecast('c', gappy, now);
    expect(r).toMatchObject({ sensorId: 'c', warmingUp: true });
    expect('points' in r && r.points).toHaveLength(3);
    // A long trailing gap still refuses: nothing recent to forecast from.
    const trailing = await f.forecast('d', [...readings(T0, T0 + 3 * STEP_MS, ramp), { tMs: now + 10_000, rh: 50 }], now + 30_000);
    expect(trailing).toMatchObject({ sensorId: 'd', reason: 'too_many_gaps' });
    expect((trailing as NoForecast).detail).toMatch(/the last \d+ steps of 600 s have no reading/);
  });

  it('says faulty_readings, not stale, when readings arrive but every recent one is flagged', async () => {
    const f = await load('persist4.onnx', buildRidgeModel(persistenceWeights(6, 3), testContract()));
    const now = T0 + 8 * STEP_MS;
    const flagged = (fromMs: number): HistoryPoint[] => readings(fromMs, now, () => Number.NaN).map((p) => ({ ...p, faulty: true }));
    const usableThenFlagged = [...readings(T0, T0 + 4 * STEP_MS, ramp), ...flagged(T0 + 4 * STEP_MS)];
    const r = await f.forecast('e', usableThenFlagged, now);
    expect(r).toMatchObject({ sensorId: 'e', reason: 'faulty_readings' });
    expect((r as NoForecast).detail).toMatch(/readings arrive \(newest 10 s old\) but every one of the last 1200 s \(2 steps\) is flagged unusable.*the newest usable one is 2410 s old/);
    expect(await f.forecast('g', flagged(T0), now)).toMatchObject({ sensorId: 'g', reason: 'faulty_readings', detail: expect.stringMatching(/no usable reading in the model window/) });
    // Flagged readings that stopped too: the sensor is silent, i.e. stale.
    const silent = await f.forecast('h', [...readings(T0, T0 + 4 * STEP_MS, ramp), { tMs: T0 + 5 * STEP_MS, rh: Number.NaN, faulty: true }], now);
    expect(silent).toMatchObject({ sensorId: 'h', reason: 'stale' });
    // A flagged reading newer than a fresh usable one changes nothing.
    expect(await f.forecast('i', [...readings(T0, now - 30_000, ramp), ...flagged(now - 30_000)], now)).toMatchObject({ sensorId: 'i', warmingUp: false });
  });

  it('turns NaN output into invalid_output instead of throwing', async () => {
    const f = await load('nan.onnx', nanModel(testContract()));
    const now = T0 + 7 * STEP_MS;
    const r = await f.forecast('n', readings(T0, now, ramp), now);
    expect(r).toMatchObject({ sensorId: 'n', reason: 'invalid_output' });
    expect((r as NoForecast).detail).toMatch(/rh_forecast\[0\] = NaN is not a humidity in 0..100/);
  });

  it('turns output outside 0..100 %RH into invalid_output', async () => {
    const now = T0 + 7 * STEP_MS;
    // Our graphs clip to 0..100; a model made elsewhere need not.
    for (const [name, value, shown] of [['high', 106, /rh_forecast\[0\] = 106 is not a humidity in 0\.\.100 %RH/], ['low', -4, /rh_forecast\[0\] = -4 is not a humidity in 0\.\.100 %RH/]] as const) {
      const f = await load(`${name}.onnx`, constantModel(testContract(), value));
      const r = await f.forecast(name, readings(T0, now, ramp), now);
      expect(r).toMatchObject({ sensorId: name, reason: 'invalid_output' });
      expect((r as NoForecast).detail).toMatch(shown);
    }
    // In range, the same graph forecasts: the refusal is about the values, not the graph.
    expect(isForecast(await (await load('fifty.onnx', constantModel(testContract(), 50))).forecast('ok', readings(T0, now, ramp), now))).toBe(true);
  });

  it('turns a runtime error of the model into model_error', async () => {
    // Reshape [1, 6] to [-1, 4] fails only when run: 6 values do not split into rows of 4.
    const c = testContract({ horizonsS: [600, 1200, 1800, 2400] });
    const f = await load('throws.onnx', {
      graphName: 'throws',
      initializers: [int64Tensor('shape', [2], [-1, 4])],
      nodes: [node('Reshape', [INPUT_RH, 'shape'], ['r']), ...OUTPUT_NAMES.map((n) => node('Identity', ['r'], [n]))],
      inputs: [floatValueInfo(INPUT_RH, ['N', 6]), floatValueInfo(INPUT_TIME, ['N', 2])],
      outputs: OUTPUT_NAMES.map((n) => floatValueInfo(n, ['N', 4])),
      metadata: contractToMetadata(c),
    });
    const now = T0 + 7 * STEP_MS;
    await expect(f.forecast('m', readings(T0, now, ramp), now)).resolves.toMatchObject({ sensorId: 'm', reason: 'model_error' });
  });

  it('answers model_error after close, and close is idempotent', async () => {
    const f = await OnnxForecaster.load(await tmp.write('closing.onnx', buildRidgeModel(persistenceWeights(6, 3), testContract())), utcDay);
    await f.close();
    await f.close();
    await expect(f.forecast('x', [{ tMs: T0, rh: 50 }], T0 + 1000)).resolves.toMatchObject({ reason: 'model_error', detail: 'forecaster is closed' });
  });

  it('refuses to load a model that breaks the contract, listing every problem', async () => {
    const parts = buildRidgeModel(persistenceWeights(6, 3), testContract());
    delete parts.metadata[`${METADATA_PREFIX}model_version`];
    parts.metadata[`${METADATA_PREFIX}step_s`] = '-600';
    const file = await tmp.write('bad.onnx', parts);
    const err: unknown = await OnnxForecaster.load(file).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MODEL_CONTRACT_VIOLATION', problems: ['metadata: missing key "hygrocast.model_version"', 'metadata hygrocast.step_s: "-600" is not a positive integer <= 604800'] });
    expect((err as Error).message).toContain('- metadata: missing key "hygrocast.model_version"');
    await expect(OnnxForecaster.load(tmp.file('nope.onnx'))).rejects.toMatchObject({ code: 'MODEL_READ_FAILED' });
  });
});
