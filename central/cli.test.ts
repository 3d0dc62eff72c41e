import { execFileSync, spawnSync } from 'node:child_process';
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
    expect(() => loadCentralConfig(undefined, { ...admin, HYGROCAST_CENTRAL_TIME_ZONE: 'Europe/Atlantis' })).toThrow(/HYGROCAST_CENTRAL_TIME_ZONE \(timeZone\): not an IANA time zone/);
  });

  it('keeps accuracy reports 400 days unless HYGROCAST_CENTRAL_ACCURACY_RETENTION_DAYS says otherwise, and names it when refused', () => {
    const admin = { HYGROCAST_CENTRAL_ADMIN_TOKEN: 'x'.repeat(16) };
    expect(loadCentralConfig(undefined, admin).accuracyRetentionDays).toBe(400);
    expect(loadCentralConfig(undefined, { ...admin, HYGROCAST_CENTRAL_ACCURACY_RETENTION_DAYS: '30' }).accuracyRetentionDays).toBe(30);
    const refused = (value: string): string => {
      try {
        loadCentralConfig(undefined, { ...admin, HYGROCAST_CENTRAL_ACCURACY_RETENTION_DAYS: value });
      } catch (err) {
        expect(err).toMatchObject({ code: 'CENTRAL_CONFIG_INVALID' });
        return (err as Error).message;
      }
      throw new Error(`${value} was accepted`);
    };
    expect(refused('0')).toMatch(/HYGROCAST_CENTRAL_ACCURACY_RETENTION_DAYS=0 \(accuracyRetentionDays\): Too small/);
    expect(refused('1.5')).toMatch(/HYGROCAST_CENTRAL_ACCURACY_RETENTION_DAYS=1.5 \(accuracyRetentionDays\): .*int/);
    expect(refused('99999')).toMatch(/HYGROCAST_CENTRAL_ACCURACY_RETENTION_DAYS=99999 \(accuracyRetentionDays\): Too big/);
    expect(refused('a year')).toMatch(/HYGROCAST_CENTRAL_ACCURACY_RETENTION_DAYS: "a year" is not a number/);
    // A refused string is named, never echoed: it may be a secret.
    expect(() => loadCentralConfig(undefined, { HYGROCAST_CENTRAL_ADMIN_TOKEN: 'short-secret' })).toThrow(/^(?![\s\S]*short-secret)[\s\S]*HYGROCAST_CENTRAL_ADMIN_TOKEN \(adminToken\): Too small/);
  });

  it('keygen, publish --promote and models: a signed production model the .pub verifies', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-central-cli-'));
    dirs.push(dir);
    const run = (...args: string[]): string =>
      execFileSync(process.execPath, ['--import', 'tsx', 'central/cli.ts', ...args], { cwd: repoRoot, env: { ...process.env, HYGROCAST_CENTRAL_DATA_DIR: dir }, encoding: 'utf8' });
    // Before keygen: refused as bad configuration (exit 2), naming the missing key file.
    const noKey = spawnSync(process.execPath, ['--import', 'tsx', 'central/cli.ts', 'publish', 'models/hygrocast-rh.onnx'], { cwd: repoRoot, env: { ...process.env, HYGROCAST_CENTRAL_DATA_DIR: dir }, encoding: 'utf8' });
    expect(noKey.status).toBe(2);
    expect(noKey.stderr).toContain(`no signing key at ${path.join(dir, 'signing-key.pem')}`);
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
