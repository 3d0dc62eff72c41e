import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadCentralConfig } from './config.ts';
import { manifestSignatureValid, publicKeyFromPem, type ModelManifest } from './manifest.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');

describe('central config and CLI', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('lists every config problem at once and names the variable', () => {
    expect(loadCentralConfig(undefined, { HYGROCAST_CENTRAL_ADMIN_TOKEN: 'x'.repeat(16) })).toMatchObject({ port: 8090, storage: 'sqlite' });
    let message = '';
    try {
      loadCentralConfig(undefined, { HYGROCAST_CENTRAL_PORT: 'abc', HYGROCAST_CENTRAL_STORAGE: 'postgres', HYGROCAST_CENTRAL_NOPE: '1' });
    } catch (err) {
      expect(err).toMatchObject({ code: 'CENTRAL_CONFIG_INVALID' });
      message = (err as Error).message;
    }
    expect(message).toMatch(/HYGROCAST_CENTRAL_PORT: "abc" is not a number/);
    expect(message).toMatch(/HYGROCAST_CENTRAL_NOPE: unknown variable/);
    expect(message).toMatch(/adminToken/);
    const admin = { HYGROCAST_CENTRAL_ADMIN_TOKEN: 'x'.repeat(16) };
    expect(loadCentralConfig(undefined, { ...admin, HYGROCAST_CENTRAL_TIME_ZONE: 'Europe/Rome' }).timeZone).toBe('Europe/Rome');
    expect(() => loadCentralConfig(undefined, { ...admin, HYGROCAST_CENTRAL_TIME_ZONE: 'Europe/Atlantis' })).toThrow(/timeZone: not an IANA time zone/);
  });

  it('keygen, publish --promote and models: a signed production model the .pub verifies', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-central-cli-'));
    dirs.push(dir);
    const run = (...args: string[]): string =>
      execFileSync(process.execPath, ['--import', 'tsx', 'central/cli.ts', ...args], { cwd: repoRoot, env: { ...process.env, HYGROCAST_CENTRAL_DATA_DIR: dir }, encoding: 'utf8' });
    run('keygen');
    expect(run('publish', 'models/hygrocast-rh.onnx', '--promote')).toMatch(/: production/);
    const models = JSON.parse(run('models', '--json')) as Array<{ stage: string; manifest: ModelManifest }>;
    expect(models).toHaveLength(1);
    expect(models[0]?.stage).toBe('production');
    const pub = publicKeyFromPem(fs.readFileSync(path.join(dir, 'signing-key.pem.pub'), 'utf8'));
    expect(manifestSignatureValid(models[0]!.manifest, pub)).toBe(true);
    expect(() => run('keygen')).toThrow();
    expect(run('retrain')).toMatch(/no synced data yet/);
    expect(() => run('retrain', '--margin', '7')).toThrow();
  });
});
