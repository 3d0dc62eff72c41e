import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { GatewayBus } from '../events.ts';
import { MemoryStore } from '../store/memory-store.ts';
import type { Forecast } from '../types.ts';
import type { Forecaster, HistoryPoint, ModelInfo, NoForecast } from './forecaster.ts';
import { ForecastLog } from './forecast-log.ts';
import { ModelManager, type ModelEvent, type ModelManagerOptions } from './model-manager.ts';
import { ForecastScheduler } from './scheduler.ts';

const STEP_MS = 600_000;
const HORIZONS = [600, 1200, 1800];
const START = Date.UTC(2026, 0, 1);
const NOW = START + 2 * 86_400_000;

/** Persistence plus a bias: the last reading + bias at every horizon. `mode` breaks it on purpose. */
class FakeModel implements Forecaster {
  readonly info: ModelInfo;
  mode: 'ok' | 'nan' | 'throw' = 'ok';
  calls = 0;
  closed = false;
  /** When set, the next call waits for this promise (a slow model in the middle of a cycle). */
  blockNext: Promise<void> | null = null;

  constructor(
    version: string,
    public bias: number,
  ) {
    this.info = { version, path: `${version}.onnx`, stepS: 600, windowSteps: 6, horizonsS: HORIZONS, intervalLevel: 0.8 };
  }

  async forecast(sensorId: string, history: HistoryPoint[], nowMs: number): Promise<Forecast | NoForecast> {
    this.calls++;
    const block = this.blockNext;
    this.blockNext = null;
    if (block) await block;
    if (this.closed) return { sensorId, reason: 'model_error', detail: 'closed' };
    if (this.mode === 'nan') return { sensorId, reason: 'invalid_output', detail: 'rh_forecast[0] = NaN is not a humidity in 0..100 %RH' };
    if (this.mode === 'throw') return { sensorId, reason: 'model_error', detail: 'onnxruntime: boom' };
    const last = history[history.length - 1];
    if (!last) return { sensorId, reason: 'no_history', detail: 'none' };
    const rh = last.rh + this.bias;
    return { sensorId, issuedAtMs: nowMs, baseTimeMs: Math.floor(nowMs / STEP_MS) * STEP_MS, modelVersion: this.info.version, points: HORIZONS.map((h) => ({ horizonS: h, rh, lower: rh - 1, upper: rh + 1 })), warmingUp: false };
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

/** Two days of a daily humidity cycle every 10 min for two sensors: persistence errs about 0.5 %RH per step. */
function storeWithHistory(): MemoryStore {
  return fillHistory(new MemoryStore());
}

/** Six forecasts of 'next', 3 %RH off at every horizon, scored against a truth of 50. */
function scoreBadLive(log: ForecastLog, clock: ManualClock): void {
  for (let k = 0; k < 6; k++) {
    log.record({ sensorId: 'a', issuedAtMs: clock.now() + k * STEP_MS, baseTimeMs: clock.now() + k * STEP_MS, modelVersion: 'next', points: HORIZONS.map((h) => ({ horizonS: h, rh: 53, lower: 0, upper: 100 })), warmingUp: false });
  }
  clock.advance(9 * STEP_MS);
  log.score(() => 50);
}

function fillHistory(store: MemoryStore): MemoryStore {
  for (const sensorId of ['a', 'b']) {
    for (let k = 0; k < 288; k++) {
      const t = START + k * STEP_MS;
      store.append({ sensorId, bootId: 'b1', seq: k, uptimeMs: k * STEP_MS, wallTimeMs: t, rh: 50 + 10 * Math.sin((2 * Math.PI * k) / 144), tempC: 20, quality: [] });
    }
  }
  store.flush();
  return store;
}

function setup(current: FakeModel, candidates: FakeModel[], over: Partial<ModelManagerOptions> = {}) {
  const clock = new ManualClock(NOW);
  const store = storeWithHistory();
  const bus = new GatewayBus();
  const reports: ModelEvent[] = [];
  const db = new Database(':memory:');
  const log = new ForecastLog({ db, clock, stepMs: STEP_MS });
  let scheduler: ForecastScheduler | null = null;
  const manager = new ModelManager({
    initial: current,
    load: (file) => {
      const m = candidates.find((c) => c.info.path === file);
      return m ? Promise.resolve(m) : Promise.reject(new Error(`no model ${file}`));
    },
    store,
    clock,
    gate: () => scheduler,
    liveError: () => log,
    report: (e) => {
      reports.push(e);
      return Promise.resolve();
    },
    ...over,
  });
  scheduler = new ForecastScheduler({ store, forecaster: manager.forecaster, bus, clock, checkIntervalMs: 5000, onError: (err) => { throw err; } });
  const forecasts: Forecast[] = [];
  bus.on('forecast', (f) => forecasts.push(f));
  return { clock, store, bus, reports, db, log, manager, scheduler, forecasts };
}

describe('ModelManager', () => {
  const closers: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });

  it('promotes a candidate that is better in shadow and keeps the previous model loaded for rollback', async () => {
    const old = new FakeModel('old', 3);
    const next = new FakeModel('next', 0);
    const { manager, reports } = setup(old, [next]);
    closers.push(() => manager.close());
    expect(manager.stage).toBe('local');
    const event = await manager.offer('next.onnx');
    expect(event).toMatchObject({ outcome: 'promoted', version: 'next', otherVersion: 'old' });
    expect(manager.stage).toBe('probation');
    expect(Object.keys(event.maePerHorizon ?? {})).toEqual(HORIZONS.map(String));
    expect(manager.version).toBe('next');
    expect(manager.forecaster.info.version).toBe('next');
    expect(manager.onProbation).toBe(true);
    expect(old.closed).toBe(false);
    expect(old.calls).toBeGreaterThan(10); // both models ran on past base times of both sensors
    expect(reports.map((r) => r.outcome)).toEqual(['promoted']);
  });

  it('says production, not local, after a restart that reloaded a promoted model', async () => {
    // The gateway starts with the model it had promoted (recorded in its models folder), not forecast.modelPath.
    const { manager } = setup(new FakeModel('promoted-2', 0), [], { localPath: 'shipped.onnx' });
    closers.push(() => manager.close());
    expect(manager.stage).toBe('production');
    const local = setup(new FakeModel('shipped', 0), [], { localPath: 'shipped.onnx' });
    closers.push(() => local.manager.close());
    expect(local.manager.stage).toBe('local');
  });

  it('refuses a candidate that is worse in shadow and keeps forecasting with the current model', async () => {
    const old = new FakeModel('old', 0);
    const worse = new FakeModel('worse', 2);
    const { manager, reports } = setup(old, [worse]);
    closers.push(() => manager.close());
    const event = await manager.offer('worse.onnx');
    expect(event.outcome).toBe('refused_worse_in_shadow');
    expect(event.detail).toMatch(/shadow MAE 1\.\d+ %RH vs 0\.\d+ for old over \d+ points/);
    expect(manager.version).toBe('old');
    expect(worse.closed).toBe(true);
    expect(reports.map((r) => [r.outcome, r.version])).toEqual([['refused_worse_in_shadow', 'worse']]);
  });

  it('refuses a model with other horizons, one that fails to load, and one producing NaN in shadow', async () => {
    const old = new FakeModel('old', 1);
    const other = new FakeModel('other', 0);
    (other.info as { horizonsS: number[] }).horizonsS = [600];
    const nan = new FakeModel('nan', 0);
    nan.mode = 'nan';
    const again = new FakeModel('old', 0);
    (again.info as { path: string }).path = 'again.onnx';
    const { manager } = setup(old, [other, nan, again]);
    closers.push(() => manager.close());
    expect((await manager.offer('again.onnx')).outcome).toBe('already_running');
    expect(again.closed).toBe(true);
    expect((await manager.offer('other.onnx')).outcome).toBe('refused_incompatible');
    expect((await manager.offer('missing.onnx')).outcome).toBe('refused_load_failed');
    expect(await manager.offer('nan.onnx')).toMatchObject({ outcome: 'refused_shadow_failed', detail: expect.stringMatching(/invalid_output/) as string });
    expect(manager.version).toBe('old');
  });

  it('rolls back at once when the promoted model returns NaN, and the previous model answers that same forecast', async () => {
    const old = new FakeModel('old', 1);
    const next = new FakeModel('next', 0);
    const { manager, scheduler, forecasts, reports } = setup(old, [next]);
    closers.push(() => manager.close());
    await manager.offer('next.onnx');
    next.mode = 'nan';
    await scheduler.cycle();
    expect(forecasts.map((f) => [f.sensorId, f.modelVersion])).toEqual([
      ['a', 'old'],
      ['b', 'old'],
    ]);
    expect(manager.version).toBe('old');
    expect(manager.onProbation).toBe(false);
    expect(manager.stage).toBe('local');
    await manager.close();
    expect(next.closed).toBe(true);
    expect(reports.map((r) => [r.outcome, r.version, r.otherVersion])).toEqual([
      ['promoted', 'next', 'old'],
      ['rolled_back_invalid_output', 'next', 'old'],
    ]);
  });

  it('rolls back when the live error of the promoted model becomes worse than the previous model by the margin', async () => {
    const old = new FakeModel('old', 1);
    const next = new FakeModel('next', 0);
    const { manager, clock, log, reports } = setup(old, [next], { liveMargin: 0.1, liveCheckIntervalMs: 60_000, minLiveScored: 6 });
    closers.push(() => manager.close());
    // The previous model's live record before the offer: 0.5 %RH off at every horizon.
    const truth = 50;
    const record = (version: string, baseMs: number, err: number): void =>
      log.record({ sensorId: 'a', issuedAtMs: baseMs, baseTimeMs: baseMs, modelVersion: version, points: HORIZONS.map((h) => ({ horizonS: h, rh: truth + err, lower: 0, upper: 100 })), warmingUp: false });
    for (let k = 1; k <= 6; k++) record('old', NOW - 12 * STEP_MS + k * STEP_MS - 3 * STEP_MS, 0.5);
    log.score(() => truth);
    await manager.offer('next.onnx');
    expect(manager.version).toBe('next');

    // Live and a little worse (0.54 < 0.5 * 1.1): kept on probation.
    for (let k = 0; k < 3; k++) record('next', clock.now() + k * STEP_MS, 0.54);
    clock.advance(6 * STEP_MS);
    log.score(() => truth);
    manager.checkLive();
    expect(manager.version).toBe('next');
    expect(manager.onProbation).toBe(true);

    // Then clearly worse: rolled back at the next live check.
    for (let k = 0; k < 6; k++) record('next', clock.now() + k * STEP_MS, 2);
    clock.advance(9 * STEP_MS);
    log.score(() => truth);
    clock.advance(60_000);
    expect(manager.version).toBe('old');
    await manager.close();
    const rollback = reports.find((r) => r.outcome === 'rolled_back_live_error');
    expect(rollback).toMatchObject({ version: 'next', otherVersion: 'old', detail: expect.stringMatching(/live MAE 1\.\d+ %RH vs 0\.500/) as string });
    expect(next.closed).toBe(true);
  });

  it('promotes as unshadowed, not as better, on fewer shadow points than minShadowSamples', async () => {
    const { manager, reports } = setup(new FakeModel('old', 3), [new FakeModel('next', 0)], { minShadowSamples: 100_000 });
    closers.push(() => manager.close());
    const event = await manager.offer('next.onnx');
    expect(event).toMatchObject({ outcome: 'promoted_unshadowed', detail: expect.stringMatching(/^\d+ shadow points .*100000 needed/) });
    expect(reports.map((r) => r.outcome)).toEqual(['promoted_unshadowed']);
  });

  it('checks an unshadowed model against the previous one on the data that arrived since, and rolls a worse one back', async () => {
    const empty = new MemoryStore();
    const old = new FakeModel('old', 0);
    const next = new FakeModel('next', 3);
    const { manager, clock, log, reports } = setup(old, [next], { store: empty, minLiveScored: 6, liveCheckIntervalMs: 60_000 });
    closers.push(() => manager.close());
    // No local data and no live record of the previous model: nothing to compare on at the offer.
    expect(await manager.offer('next.onnx')).toMatchObject({ outcome: 'promoted_unshadowed' });
    // Readings and the new model's scored forecasts arrive (3 %RH off).
    fillHistory(empty);
    scoreBadLive(log, clock);
    manager.checkLive();
    await expect.poll(() => manager.version).toBe('old');
    expect(reports.map((r) => r.outcome)).toEqual(['promoted_unshadowed', 'rolled_back_live_error']);
  });

  it('resumes a probation a restart interrupted, and rolls the model back when it proves worse', async () => {
    const old = new FakeModel('old', 0);
    const next = new FakeModel('next', 3);
    // After the restart `next` forecasts (active.json), with `old` loaded again to roll back to.
    const { manager, clock, log, reports } = setup(next, [], { minLiveScored: 6, resumeProbation: { previous: old, sinceMs: NOW - 3_600_000 } });
    closers.push(() => manager.close());
    expect(manager.stage).toBe('probation');
    expect(manager.probationState()).toEqual({ previousPath: 'old.onnx', previousVersion: 'old', sinceMs: NOW - 3_600_000 });
    scoreBadLive(log, clock);
    manager.checkLive();
    await expect.poll(() => manager.version).toBe('old');
    expect(reports.map((r) => r.outcome)).toEqual(['rolled_back_live_error']);
  });

  it('does not resume a probation that ran out while the gateway was down', async () => {
    const old = new FakeModel('old', 0);
    const { manager } = setup(new FakeModel('next', 0), [], { probationMs: 3_600_000, resumeProbation: { previous: old, sinceMs: NOW - 3_600_000 } });
    closers.push(() => manager.close());
    expect(manager.onProbation).toBe(false);
    expect(old.closed).toBe(true);
  });

  it('ends probation after probationMs and reports the model as kept', async () => {
    const old = new FakeModel('old', 1);
    const next = new FakeModel('next', 0);
    const { manager, clock, reports } = setup(old, [next], { probationMs: 3_600_000, liveCheckIntervalMs: 60_000 });
    closers.push(() => manager.close());
    await manager.offer('next.onnx');
    clock.advance(3_600_000);
    expect(manager.onProbation).toBe(false);
    expect(manager.stage).toBe('production');
    expect(old.closed).toBe(true);
    await manager.close();
    expect(reports.map((r) => r.outcome)).toEqual(['promoted', 'kept']);
  });

  it('swaps only after a running cycle ends: that cycle forecasts every sensor with the old model, the next with the new one', async () => {
    const old = new FakeModel('old', 1);
    const next = new FakeModel('next', 0);
    const { manager, scheduler, forecasts, clock } = setup(old, [next]);
    closers.push(() => manager.close());
    let release!: () => void;
    old.blockNext = new Promise((r) => (release = r));
    const cycle = scheduler.cycle();
    const offer = manager.offer('next.onnx');
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r)); // shadow done, swap waiting
    expect(next.calls).toBeGreaterThan(0);
    expect(manager.version).toBe('old');
    release();
    await cycle;
    expect((await offer).outcome).toBe('promoted');
    expect(forecasts.map((f) => [f.sensorId, f.modelVersion])).toEqual([
      ['a', 'old'],
      ['b', 'old'],
    ]);
    clock.advance(STEP_MS); // the next step
    await scheduler.cycle();
    expect(forecasts.slice(2).map((f) => [f.sensorId, f.modelVersion])).toEqual([
      ['a', 'next'],
      ['b', 'next'],
    ]);
  });

  it('refuses nonsense options with the option named', () => {
    expect(() => setup(new FakeModel('old', 0), [], { liveMargin: -1 })).toThrow(/liveMargin/);
    expect(() => setup(new FakeModel('old', 0), [], { probationMs: 0 })).toThrow(/probationMs/);
  });
});
