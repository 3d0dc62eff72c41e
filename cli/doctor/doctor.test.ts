import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { checkClock, type ClockProbe } from './clock.ts';
import { checkDevices } from './devices.ts';
import { checkDisk } from './disk.ts';
import { formatReport, runDoctor, type DoctorReport } from './doctor.ts';
import { isHygrocastGateway } from './port-owner.ts';
import { INSTALL_DIR } from '../passthrough.ts';
import { configSchema } from '../../gateway/config/schema.ts';
import { cleanupAfterEach } from '../../test/cleanups.ts';

const syncedClock: ClockProbe = { ntpSynchronized: () => 'yes', timesyncFlagExists: () => false };

describe('hygrocast doctor', () => {
  const cleanups = cleanupAfterEach();

  function tempConfig(config: Record<string, unknown>): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'hygrocast-doctor-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'gateway.yaml');
    writeFileSync(file, stringify({ dataDir: path.join(dir, 'data'), ...config }));
    return file;
  }

  async function takenPort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return (server.address() as net.AddressInfo).port;
  }

  const byId = (report: DoctorReport, id: string) => report.checks.find((c) => c.id === id);

  it('passes a healthy setup: free ports, the shipped model, room on disk, a synced clock', async () => {
    const configFile = tempConfig({ mqtt: { host: '127.0.0.1', port: 0 }, dashboard: { host: '127.0.0.1', port: 0 } });
    const report = await runDoctor({ configFile, env: {}, installDir: INSTALL_DIR, clockProbe: syncedClock, groups: [] });
    // disk may warn on a small CI /tmp; its thresholds are tested below.
    expect(report.checks.filter((c) => c.id !== 'disk').map((c) => [c.id, c.status])).toEqual([
      ['config', 'ok'], ['port.mqtt', 'ok'], ['port.dashboard', 'ok'], ['devices', 'ok'], ['clock', 'ok'], ['model', 'ok'],
    ]);
    expect(byId(report, 'disk')?.status).not.toBe('fail');
    expect(report.ok).toBe(true);
    expect(byId(report, 'model')?.detail).toMatch(/model \S+, 36 horizons/);
  });

  it('detects a port taken by another program and says which option moves the gateway', async () => {
    const port = await takenPort();
    const configFile = tempConfig({ mqtt: { host: '127.0.0.1', port }, dashboard: { host: '127.0.0.1', port: 0 } });
    const report = await runDoctor({ configFile, env: {}, installDir: INSTALL_DIR, clockProbe: syncedClock, groups: [] });
    expect(report.ok).toBe(false);
    const check = byId(report, 'port.mqtt');
    expect(check?.status).toBe('fail');
    expect(check?.detail).toContain(`127.0.0.1:${port} is taken`);
    expect(check?.fix).toContain('mqtt.port');
    expect(check?.fix).toContain('HYGROCAST_MQTT_PORT');
    expect(byId(report, 'port.dashboard')?.status).toBe('ok');
  });

  it('checks the TLS listener (its port, certificate and key) and the pinned model key, which the gateway reads at start', async () => {
    const port = await takenPort();
    const dir = path.dirname(tempConfig({}));
    const cert = path.join(dir, 'cert.pem');
    writeFileSync(cert, 'not checked beyond being readable');
    const configFile = tempConfig({
      mqtt: { host: '127.0.0.1', port: 0, tls: { port, certFile: cert, keyFile: path.join(dir, 'missing-key.pem') } },
      dashboard: { enabled: false },
      sync: { enabled: true, url: 'http://127.0.0.1:9', token: 'test-token-0123456789', modelPublicKeyPath: path.join(dir, 'missing.pub') },
    });
    const report = await runDoctor({ configFile, env: {}, installDir: INSTALL_DIR, clockProbe: syncedClock, groups: [] });
    expect(report.ok).toBe(false);
    expect(byId(report, 'port.mqtt-tls')).toMatchObject({ status: 'fail', detail: expect.stringContaining(`127.0.0.1:${port} is taken`), fix: expect.stringContaining('mqtt.tls.port') });
    expect(byId(report, 'file.mqtt-tls-cert')?.status).toBe('ok');
    expect(byId(report, 'file.mqtt-tls-key')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/missing-key\.pem does not exist$/), fix: expect.stringContaining('mqtt.tls.keyFile') });
    expect(byId(report, 'file.model-public-key')).toMatchObject({ status: 'fail', fix: expect.stringContaining('sync.modelPublicKeyPath') });
  });

  it('detects a missing model file and says how to fix it', async () => {
    const configFile = tempConfig({ mqtt: { enabled: false }, dashboard: { enabled: false }, forecast: { modelPath: '/nonexistent/model.onnx' } });
    const report = await runDoctor({ configFile, env: {}, installDir: INSTALL_DIR, clockProbe: syncedClock, groups: [] });
    const check = byId(report, 'model');
    expect(check).toMatchObject({ status: 'fail', detail: 'model file /nonexistent/model.onnx does not exist' });
    expect(check?.fix).toContain('forecast.modelPath');
    expect(check?.fix).toContain('models/hygrocast-rh.onnx');
    expect(report.ok).toBe(false);
    expect(formatReport(report)).toMatch(/^FAIL model: .*\n {5}fix: set forecast\.modelPath/m);
  });

  it('detects a file that is not an ONNX model', async () => {
    const configFile = tempConfig({ mqtt: { enabled: false }, dashboard: { enabled: false } });
    const notModel = path.join(path.dirname(configFile), 'bad.onnx');
    writeFileSync(notModel, 'not a model at all');
    const report = await runDoctor({ configFile, env: { HYGROCAST_FORECAST_MODEL_PATH: notModel }, installDir: INSTALL_DIR, clockProbe: syncedClock, groups: [] });
    expect(byId(report, 'model')).toMatchObject({ status: 'fail', detail: expect.stringContaining('not an ONNX model') });
  });

  it('reports an invalid config with every problem, and nothing else', async () => {
    const configFile = tempConfig({ mqtt: { port: 'x' }, bogus: 1 });
    const report = await runDoctor({ configFile, env: {}, installDir: INSTALL_DIR, clockProbe: syncedClock, groups: [] });
    expect(report.checks).toHaveLength(1);
    expect(report.checks[0]?.detail).toContain('mqtt.port');
    expect(report.checks[0]?.detail).toContain('bogus: unknown key');
  });

  it('detects a missing serial device and a device the user may not open, with the dialout fix', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hygrocast-doctor-dev-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const locked = path.join(dir, 'ttyLOCKED');
    writeFileSync(locked, '', { mode: 0o000 });
    const config = configSchema.parse({ sources: [{ type: 'serial', path: path.join(dir, 'ttyGONE') }, { type: 'serial', path: locked }] });
    const [gone, denied] = checkDevices(config, ['users']);
    expect(gone).toMatchObject({ status: 'fail', detail: expect.stringContaining('does not exist') });
    expect(gone?.fix).toContain('hygrocast ports');
    if (process.getuid?.() === 0) return; // root may open anything: no permission problem to see
    expect(denied).toMatchObject({ status: 'fail' });
    expect(denied?.fix).toContain('usermod -aG dialout');
  });

  it('fails a data folder without room, warns when it is low, and names the folder', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hygrocast-doctor-disk-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const dataDir = path.join(dir, 'not-yet', 'data'); // before first start: its parent is checked
    expect(checkDisk(dataDir, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)).toMatchObject({ status: 'fail', detail: expect.stringContaining(dataDir), fix: expect.stringContaining('dataDir') });
    expect(checkDisk(dataDir, 0, Number.MAX_SAFE_INTEGER).status).toBe('warn');
    expect(checkDisk(dataDir, 0, 0).status).toBe('ok');
  });

  it('warns, never fails, on an unsynchronised or unknown clock', () => {
    expect(checkClock({ ntpSynchronized: () => 'no', timesyncFlagExists: () => false })).toMatchObject({ status: 'warn', fix: expect.stringContaining('timedatectl set-ntp true') });
    expect(checkClock({ ntpSynchronized: () => null, timesyncFlagExists: () => true }).status).toBe('ok');
    expect(checkClock({ ntpSynchronized: () => null, timesyncFlagExists: () => false }).status).toBe('warn');
  });

  it('recognises hygrocast gateway command lines', () => {
    expect(isHygrocastGateway(['node', '--import', 'tsx', 'gateway/main.ts', '--config', 'x.yaml'])).toBe(true);
    expect(isHygrocastGateway(['node', '/usr/lib/hygrocast/bin/hygrocast.js', 'gateway'])).toBe(true);
    expect(isHygrocastGateway(['node', '/home/ci/hygrocast/node_modules/vitest/dist/workers/forks.js'])).toBe(false);
    expect(isHygrocastGateway(['mosquitto', '-p', '1883'])).toBe(false);
  });

  it('`hygrocast doctor --json` prints the report and exits 1 when a check fails', async () => {
    const configFile = tempConfig({ mqtt: { enabled: false }, dashboard: { enabled: false }, forecast: { modelPath: '/nonexistent/model.onnx' } });
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HYGROCAST_')));
    const run = promisify(execFile)(process.execPath, ['bin/hygrocast.js', 'doctor', '--json', '--config', configFile], { cwd: INSTALL_DIR, env });
    const err = (await run.then(() => null, (e: unknown) => e)) as { code: number; stdout: string } | null;
    expect(err?.code).toBe(1);
    const report = JSON.parse(err?.stdout ?? '{}') as DoctorReport;
    expect(report.ok).toBe(false);
    expect(report.checks.find((c) => c.id === 'model')?.status).toBe('fail');
  }, 20_000);
});
