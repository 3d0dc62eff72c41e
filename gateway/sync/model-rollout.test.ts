import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { testContract } from '../../models/test-fixtures.ts';
import { ManualClock } from '../clock.ts';
import type { ModelEvent } from '../forecast/model-manager.ts';
import { activeRecord, ModelRollout, rememberActiveModel } from './model-rollout.ts';
import type { UpdateOutcome } from './model-updater.ts';

/** Lets the promise chains of one check settle. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

describe('ModelRollout', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('checks at start and every interval, offers only verified models, and survives a failing check', async () => {
    const clock = new ManualClock();
    const answers: Array<UpdateOutcome | Error> = [
      { kind: 'none' },
      new Error('fetch failed'),
      { kind: 'rejected', version: 'v2', code: 'MODEL_BAD_SIGNATURE', message: 'bad' },
      { kind: 'verified', version: 'v3', file: '/m/v3.onnx', contract: testContract({ modelVersion: 'v3' }) },
      { kind: 'unchanged' },
    ];
    const offered: string[] = [];
    const seen: string[] = [];
    const errors: unknown[] = [];
    const rollout = new ModelRollout({
      clock,
      checkIntervalMs: 1000,
      updater: {
        check: () => {
          const a = answers.shift() ?? { kind: 'unchanged' };
          return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
        },
      },
      manager: {
        version: 'v1',
        offer: (file) => {
          offered.push(file);
          return Promise.resolve<ModelEvent>({ outcome: 'promoted', version: 'v3', otherVersion: 'v1', detail: '' });
        },
      },
      onOutcome: (o) => seen.push('outcome' in o ? o.outcome : o.kind),
      onError: (err) => errors.push(err),
    });
    rollout.start();
    clock.advance(0);
    await settle();
    for (let i = 0; i < 4; i++) {
      clock.advance(1000);
      await settle();
    }
    await rollout.stop();
    expect(seen).toEqual(['none', 'rejected', 'verified', 'promoted', 'unchanged']);
    expect(offered).toEqual(['/m/v3.onnx']);
    expect(errors).toHaveLength(1);
    clock.advance(10_000);
    await settle();
    expect(seen).toHaveLength(5); // stopped: no more checks
  });

  it('offers a model on disk again after a temporary refusal, across a restart too, but not after a lasting one', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-rollout-'));
    dirs.push(dir);
    const clock = new ManualClock();
    const v2 = { version: 'v2', file: path.join(dir, 'v2.onnx') };
    let answer: UpdateOutcome = { kind: 'verified', ...v2, contract: testContract({ modelVersion: 'v2' }) };
    const manager = { version: 'v1', outcomes: [] as ModelEvent['outcome'][], offered: 0 };
    const rollout = (): ModelRollout =>
      new ModelRollout({
        clock,
        modelsDir: dir,
        checkIntervalMs: 1000,
        updater: { check: () => Promise.resolve(answer) },
        manager: {
          get version() {
            return manager.version;
          },
          offer: () => {
            manager.offered++;
            const outcome = manager.outcomes.shift() ?? 'refused_worse_in_shadow';
            if (outcome === 'promoted') manager.version = 'v2';
            return Promise.resolve<ModelEvent>({ outcome, version: 'v2', otherVersion: 'v1', detail: '' });
          },
        },
        onOutcome: () => {},
        onError: (err) => {
          throw err;
        },
      });
    // The shadow failed on a store error: the next check (a 304 now) offers it again.
    manager.outcomes.push('refused_shadow_failed', 'refused_load_failed');
    const first = rollout();
    await first.checkNow();
    answer = { kind: 'unchanged' };
    await first.checkNow();
    expect(manager.offered).toBe(2);
    // Restarted (no ETag, the manifest names the model already on disk): offered again.
    answer = { kind: 'unchanged', ...v2 };
    await rollout().checkNow();
    expect(manager.offered).toBe(3);
    // Worse in shadow is for good: neither the next check nor a restart offers it again.
    const second = rollout();
    await second.checkNow();
    await rollout().checkNow();
    expect(manager.offered).toBe(3);
  });

  it('records a probation in progress with the active model, so a restart resumes it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-active-'));
    dirs.push(dir);
    const shipped = '/install/models/hygrocast-rh.onnx';
    for (const f of ['v2.onnx', 'v3.onnx']) fs.writeFileSync(path.join(dir, f), 'x');
    // Promoted over the shipped model: the model to roll back to is the configured one.
    rememberActiveModel(dir, 'v2', path.join(dir, 'v2.onnx'), { previousPath: shipped, sinceMs: 1000 });
    expect(activeRecord(dir, shipped)).toEqual({ file: path.join(dir, 'v2.onnx'), probation: { previousFile: shipped, sinceMs: 1000 } });
    rememberActiveModel(dir, 'v3', path.join(dir, 'v3.onnx'), { previousPath: path.join(dir, 'v2.onnx'), sinceMs: 2000 });
    expect(activeRecord(dir, shipped)).toEqual({ file: path.join(dir, 'v3.onnx'), probation: { previousFile: path.join(dir, 'v2.onnx'), sinceMs: 2000 } });
    // Kept: no probation left to resume.
    rememberActiveModel(dir, 'v3', path.join(dir, 'v3.onnx'));
    expect(activeRecord(dir, shipped).probation).toBeNull();
  });

  it('remembers the active model inside the models folder and falls back to the configured one otherwise', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-active-'));
    dirs.push(dir);
    const fallback = '/install/models/hygrocast-rh.onnx';
    expect(activeRecord(dir, fallback).file).toBe(fallback);
    fs.writeFileSync(path.join(dir, 'v3.onnx'), 'x');
    rememberActiveModel(dir, 'v3', path.join(dir, 'v3.onnx'));
    expect(activeRecord(dir, fallback).file).toBe(path.join(dir, 'v3.onnx'));
    fs.rmSync(path.join(dir, 'v3.onnx'));
    expect(activeRecord(dir, fallback).file).toBe(fallback); // the file is gone
    rememberActiveModel(dir, 'shipped', fallback); // rolled back to the shipped model
    expect(activeRecord(dir, fallback).file).toBe(fallback);
    fs.writeFileSync(path.join(dir, 'active.json'), JSON.stringify({ version: 'x', file: '../../etc/passwd' }));
    expect(activeRecord(dir, fallback).file).toBe(fallback); // never outside the folder
    expect(() => new ModelRollout({ clock: new ManualClock(), checkIntervalMs: 0, updater: { check: () => Promise.resolve({ kind: 'none' }) }, manager: { version: 'v1', offer: () => Promise.reject(new Error('x')) }, onOutcome: () => {}, onError: () => {} })).toThrow(/checkIntervalMs/);
  });
});
