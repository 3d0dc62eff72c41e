import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../gateway/clock.ts';
import { tryLock } from './file-lock.ts';
import { generateSigningKeys, privateKeyFromPem } from './manifest.ts';
import { ModelRegistry } from './registry.ts';
import { retrainAll } from './retrain.ts';
import { SqliteCentralStorage } from './storage/sqlite-storage.ts';

describe('file lock between processes', () => {
  const dirs: string[] = [];
  const cleanups: Array<() => void> = [];
  const tmp = (): string => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-lock-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  const otherProcess = async (): Promise<{ pid: number; kill(): Promise<void> }> => {
    const child = spawn('sleep', ['60']);
    await new Promise((resolve) => child.once('spawn', resolve));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    cleanups.push(() => child.kill());
    return {
      pid: child.pid!,
      async kill() {
        child.kill();
        await exited;
      },
    };
  };

  it('is held by one taker at a time and free again once released', () => {
    const file = path.join(tmp(), 'x.lock');
    const first = tryLock(file);
    expect('release' in first).toBe(true);
    expect(tryLock(file)).toEqual({ heldBy: process.pid });
    if ('release' in first) first.release();
    expect(fs.existsSync(file)).toBe(false);
    const again = tryLock(file);
    expect('release' in again).toBe(true);
  });

  it('names a live owner, and takes over the lock of an owner that died', async () => {
    const file = path.join(tmp(), 'x.lock');
    const other = await otherProcess();
    fs.writeFileSync(file, String(other.pid));
    expect(tryLock(file)).toEqual({ heldBy: other.pid });
    await other.kill();
    const taken = tryLock(file);
    expect('release' in taken).toBe(true);
    expect(fs.readFileSync(file, 'utf8')).toBe(String(process.pid));
  });

  it('refuses a second retraining pass while another process runs one, naming it', async () => {
    const dir = tmp();
    const storage = new SqliteCentralStorage({ dataDir: dir });
    await storage.start();
    cleanups.push(() => void storage.close());
    const registry = new ModelRegistry(path.join(dir, 'models'));
    const other = await otherProcess();
    fs.writeFileSync(path.join(dir, 'models', 'retrain.lock'), String(other.pid));
    const options = { storage, registry, signingKey: privateKeyFromPem(generateSigningKeys().privateKeyPem), clock: new ManualClock(0), runsFile: path.join(dir, 'runs.jsonl') };
    await expect(retrainAll(options)).rejects.toMatchObject({ code: 'CENTRAL_RETRAIN_RUNNING', message: expect.stringContaining(`process ${other.pid}`) });
    await other.kill();
    await expect(retrainAll(options)).resolves.toEqual([]);
    expect(fs.existsSync(path.join(dir, 'models', 'retrain.lock'))).toBe(false);
  });
});
