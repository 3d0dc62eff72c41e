import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './gateway-process.ts';

const run = promisify(execFile);

/** Runs the gateway as `npm start` does, with env overrides, and returns its exit code and stderr. */
async function runGateway(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HYGROCAST_')));
  return await run(process.execPath, ['--import', 'tsx', 'gateway/main.ts'], { cwd: REPO_ROOT, env: { ...clean, ...env }, timeout: 20_000 }).then(
    () => ({ code: 0, stderr: '' }),
    (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
  );
}

describe('startup with a port already taken', () => {
  const closers: (() => void)[] = [];
  afterEach(() => {
    for (const c of closers.splice(0)) c();
  });

  async function occupy(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => server.close());
    return (server.address() as net.AddressInfo).port;
  }

  function dataDir(): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'hygrocast-startup-'));
    closers.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  it('stops with a message naming the MQTT port and the option that changes it', async () => {
    const port = await occupy();
    const { code, stderr } = await runGateway({
      HYGROCAST_DATA_DIR: dataDir(),
      HYGROCAST_MQTT_HOST: '127.0.0.1',
      HYGROCAST_MQTT_PORT: String(port),
      HYGROCAST_DASHBOARD_ENABLED: 'false',
    });
    expect(code).toBe(1);
    expect(stderr).toContain(String(port));
    expect(stderr).toMatch(/mqtt\.port/);
    expect(stderr).toMatch(/HYGROCAST_MQTT_PORT/);
  });

  it('stops with a message naming the dashboard port and the option that changes it', async () => {
    const port = await occupy();
    const { code, stderr } = await runGateway({
      HYGROCAST_DATA_DIR: dataDir(),
      HYGROCAST_MQTT_ENABLED: 'false',
      HYGROCAST_DASHBOARD_HOST: '127.0.0.1',
      HYGROCAST_DASHBOARD_PORT: String(port),
    });
    expect(code).toBe(1);
    expect(stderr).toContain(String(port));
    expect(stderr).toMatch(/dashboard\.port/);
    expect(stderr).toMatch(/HYGROCAST_DASHBOARD_PORT/);
  });
});
