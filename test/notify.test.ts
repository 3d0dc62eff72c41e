import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, waitFor } from './gateway-process.ts';
import { freePort, SYNC_ADMIN_TOKEN } from './sync-helpers.ts';
import { cleanupAfterEach } from './cleanups.ts';

interface ReceivingSocket {
  bind(path: string): void;
  close(): void;
  on(event: 'message', listener: (msg: Buffer) => void): unknown;
}
const unix = createRequire(import.meta.url)('unix-dgram') as { createSocket(type: 'unix_dgram'): ReceivingSocket };

/**
 * The processes systemd runs (Type=notify, WatchdogSec) talk to a REAL Unix datagram socket
 * given as NOTIFY_SOCKET: READY=1 after start, WATCHDOG=1 while their health checks pass,
 * STOPPING=1 on SIGTERM, and a clean exit.
 */
describe('sd_notify from the real processes', () => {
  const cleanups = cleanupAfterEach();

  function notifySocket(): { socketPath: string; received: string[] } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-notify-proc-'));
    const socketPath = path.join(dir, 'notify.sock');
    const received: string[] = [];
    const server = unix.createSocket('unix_dgram');
    server.on('message', (msg) => received.push(...msg.toString('utf8').split('\n').filter(Boolean)));
    server.bind(socketPath);
    cleanups.push(() => {
      server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    return { socketPath, received };
  }

  async function runUntilWatchdog(args: string[], env: Record<string, string>, received: string[]): Promise<number | null> {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HYGROCAST_') && k !== 'NOTIFY_SOCKET'));
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: REPO_ROOT, env: { ...clean, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    cleanups.push(() => void child.kill('SIGKILL'));
    await waitFor(() => received.includes('READY=1'), `READY=1 (stderr: ${stderr})`, 30_000);
    await waitFor(() => received.filter((m) => m === 'WATCHDOG=1').length >= 2, 'two WATCHDOG=1 pings', 15_000);
    child.kill('SIGTERM');
    const code = await exited;
    await waitFor(() => received.includes('STOPPING=1'), 'STOPPING=1', 5000);
    return code;
  }

  it('the gateway: READY=1, then WATCHDOG=1 while healthy, then STOPPING=1 on SIGTERM', async () => {
    const { socketPath, received } = notifySocket();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-notify-gw-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const configFile = path.join(dir, 'gateway.yaml');
    fs.writeFileSync(
      configFile,
      stringify({
        dataDir: path.join(dir, 'data'),
        sources: [{ type: 'sim', sensors: ['n1'], intervalMs: 200 }],
        mqtt: { host: '127.0.0.1', port: 0 },
        dashboard: { enabled: false },
        forecast: { enabled: false },
      }),
    );
    // WATCHDOG_USEC of 1 s: the gateway runs its health checks and pings every 500 ms.
    const code = await runUntilWatchdog(['gateway/main.ts', '--config', configFile], { NOTIFY_SOCKET: socketPath, WATCHDOG_USEC: '1000000' }, received);
    expect(code).toBe(0);
    expect(received[0]).toBe('READY=1');
    expect(received.indexOf('STOPPING=1')).toBeGreaterThan(received.lastIndexOf('WATCHDOG=1'));
    expect(received.some((m) => m.startsWith('STATUS=unhealthy'))).toBe(false);
  }, 60_000);

  it('the central server: READY=1, then WATCHDOG=1 while HTTP and storage answer, then STOPPING=1 on SIGTERM', async () => {
    const { socketPath, received } = notifySocket();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-notify-central-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    const code = await runUntilWatchdog(
      ['central/main.ts'],
      {
        NOTIFY_SOCKET: socketPath,
        WATCHDOG_USEC: '1000000',
        HYGROCAST_CENTRAL_PORT: String(port),
        HYGROCAST_CENTRAL_HOST: '127.0.0.1',
        HYGROCAST_CENTRAL_DATA_DIR: dir,
        HYGROCAST_CENTRAL_ADMIN_TOKEN: SYNC_ADMIN_TOKEN,
      },
      received,
    );
    expect(code).toBe(0);
    expect(received[0]).toBe('READY=1');
    expect(received.indexOf('STOPPING=1')).toBeGreaterThan(received.lastIndexOf('WATCHDOG=1'));
  }, 60_000);
});
