import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import type { HealthError } from './errors.ts';
import { HealthMonitor, type HealthCheck } from './health.ts';
import { MAX_STATUS_CHARS, SdNotifier, parseNotifySocket, parseWatchdog, unixDgramTransport, type DatagramTransport, type NotifyAddress } from './sd-notify.ts';

interface ReceivingSocket {
  bind(path: string): void;
  close(): void;
  on(event: 'message', listener: (msg: Buffer) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
}
const unix = createRequire(import.meta.url)('unix-dgram') as { createSocket(type: 'unix_dgram'): ReceivingSocket };

/** Waits (bounded) for something the event loop delivers; not a timing assertion. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const passing: HealthCheck = { name: 'always-ok', run: () => ({ ok: true, detail: 'fine' }) };
const failing: HealthCheck = { name: 'fresh-reading', run: () => ({ ok: false, detail: 'sim-1: no reading for 45000 ms' }) };

describe('SdNotifier over a real Unix datagram socket', () => {
  let dir: string;
  let socketPath: string;
  let server: ReceivingSocket;
  let received: string[];
  const errors: HealthError[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-notify-'));
    socketPath = path.join(dir, 'notify.sock');
    received = [];
    errors.length = 0;
    server = unix.createSocket('unix_dgram');
    server.on('message', (msg) => received.push(msg.toString('utf8')));
    server.on('error', (err) => {
      throw err;
    });
    server.bind(socketPath);
  });

  afterEach(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function notifier(): SdNotifier {
    return new SdNotifier({ env: { NOTIFY_SOCKET: socketPath, WATCHDOG_USEC: '30000000' }, onError: (e) => errors.push(e) });
  }

  it('sends READY=1, WATCHDOG=1 after a passing health run, and STOPPING=1: exactly those', async () => {
    const n = notifier();
    const clock = new ManualClock();
    const monitor = new HealthMonitor({ clock, notifier: n, checks: [passing] });
    expect(monitor.intervalMs).toBe(10_000);
    n.ready();
    monitor.start();
    await until(() => received.length >= 2, 'the first WATCHDOG=1');
    await monitor.stop();
    n.stopping();
    await until(() => received.includes('STOPPING=1'), 'STOPPING=1');
    n.close();
    // Datagrams from one sender arrive in order, so nothing can still be on its way.
    expect(received).toEqual(['READY=1', 'WATCHDOG=1', 'STOPPING=1']);
    expect(errors).toEqual([]);
  });

  it('pings once per interval while healthy', async () => {
    const n = notifier();
    const clock = new ManualClock();
    const monitor = new HealthMonitor({ clock, notifier: n, checks: [passing] });
    monitor.start();
    await until(() => received.length === 1, 'the first ping');
    clock.advance(10_000);
    await until(() => received.length === 2, 'the second ping');
    clock.advance(9_999);
    await monitor.runOnce().then(() => monitor.stop());
    n.status('marker');
    await until(() => received.includes('STATUS=marker'), 'the marker');
    n.close();
    expect(received).toEqual(['WATCHDOG=1', 'WATCHDOG=1', 'WATCHDOG=1', 'STATUS=marker']);
  });

  it('sends no WATCHDOG=1 but a STATUS= naming the failed check when a check fails', async () => {
    const n = notifier();
    const clock = new ManualClock();
    const monitor = new HealthMonitor({ clock, notifier: n, checks: [passing, failing] });
    n.ready('starting');
    monitor.start();
    await until(() => received.length >= 2, 'the failure status');
    clock.advance(10_000);
    await until(() => received.length >= 3, 'the second failure status');
    await monitor.stop();
    n.stopping();
    await until(() => received.includes('STOPPING=1'), 'STOPPING=1');
    n.close();
    const status = 'STATUS=unhealthy: fresh-reading: sim-1: no reading for 45000 ms';
    expect(received).toEqual(['READY=1\nSTATUS=starting', status, status, 'STOPPING=1']);
    expect(received.some((m) => m.includes('WATCHDOG=1'))).toBe(false);
    expect(monitor.lastResult()?.ok).toBe(false);
  });

  it('clears the failure status once the checks pass again', async () => {
    const n = notifier();
    const clock = new ManualClock();
    let healthy = false;
    const monitor = new HealthMonitor({ clock, notifier: n, checks: [{ name: 'store', run: () => ({ ok: healthy, detail: healthy ? 'ok' : 'SQLITE_FULL' }) }] });
    monitor.start();
    await until(() => received.length === 1, 'the failure');
    healthy = true;
    clock.advance(10_000);
    await until(() => received.length === 3, 'recovery');
    await monitor.stop();
    n.close();
    expect(received).toEqual(['STATUS=unhealthy: store: SQLITE_FULL', 'WATCHDOG=1', 'STATUS=healthy']);
  });

  it('reports a send to a socket nobody listens on through onError, never by throwing', async () => {
    const n = new SdNotifier({ env: { NOTIFY_SOCKET: path.join(dir, 'nobody.sock') }, onError: (e) => errors.push(e) });
    expect(() => n.ready()).not.toThrow();
    await until(() => errors.length === 1, 'the send error');
    n.close();
    expect(errors[0]?.code).toBe('SD_NOTIFY_SEND_FAILED');
    expect(errors[0]?.errno).toBe('ENOENT');
    expect(errors[0]?.message).toContain('nobody.sock');
  });

  it('flattens and bounds STATUS= text so it cannot inject other assignments', async () => {
    const n = notifier();
    n.status('line one\nWATCHDOG=1');
    n.status('x'.repeat(5000));
    await until(() => received.length === 2, 'two status datagrams');
    n.close();
    expect(received[0]).toBe('STATUS=line one WATCHDOG=1');
    expect(received[1]?.length).toBe('STATUS='.length + MAX_STATUS_CHARS);
  });
});

describe('SdNotifier without systemd', () => {
  it('is a no-op when NOTIFY_SOCKET is unset: no socket is even created', () => {
    const n = new SdNotifier({
      env: { WATCHDOG_USEC: '30000000' },
      transport: () => {
        throw new Error('no transport may be created');
      },
      onError: () => {
        throw new Error('no error may be reported');
      },
    });
    n.ready('x');
    n.watchdog();
    n.status('x');
    n.stopping();
    n.close();
    expect(n.enabled).toBe(false);
    expect(n.watchdogIntervalMs()).toBeNull();
  });

  it('sends nothing after close()', () => {
    const sent: string[] = [];
    const transport: DatagramTransport = { send: (p, done) => (sent.push(p.toString()), done(null)), close: () => {} };
    const n = new SdNotifier({ env: { NOTIFY_SOCKET: '/run/x' }, transport: () => transport });
    n.watchdog();
    n.close();
    n.watchdog();
    expect(sent).toEqual(['WATCHDOG=1']);
  });
});

describe('NOTIFY_SOCKET addresses', () => {
  it('turns "@name" into an abstract address with a leading NUL byte', () => {
    expect(parseNotifySocket('@hygrocast/notify')).toEqual({ kind: 'abstract', address: '\0hygrocast/notify' });
    expect(parseNotifySocket('/run/systemd/notify')).toEqual({ kind: 'path', address: '/run/systemd/notify' });
    expect(parseNotifySocket(undefined)).toBeNull();
    expect(parseNotifySocket('')).toBeNull();
  });

  it('hands the abstract address to the transport', () => {
    const seen: NotifyAddress[] = [];
    const n = new SdNotifier({ env: { NOTIFY_SOCKET: '@hc-test' }, transport: (a) => (seen.push(a), { send: (_p, done) => done(null), close: () => {} }) });
    n.ready();
    expect(seen).toEqual([{ kind: 'abstract', address: '\0hc-test' }]);
  });

  it('refuses abstract sockets on the unix-dgram transport instead of sending to a wrong address', async () => {
    const errors: HealthError[] = [];
    const n = new SdNotifier({ env: { NOTIFY_SOCKET: '@hc-test' }, transport: unixDgramTransport, onError: (e) => errors.push(e) });
    n.watchdog();
    await until(() => errors.length === 1, 'the error');
    expect(errors[0]?.code).toBe('SD_NOTIFY_UNSUPPORTED_ADDRESS');
    expect(errors[0]?.message).toContain('@hc-test');
  });

  it('rejects malformed values with a message naming the variable', () => {
    expect(() => parseNotifySocket('relative/path')).toThrow(/NOTIFY_SOCKET must be an absolute path/);
    expect(() => parseNotifySocket('@')).toThrow(/NOTIFY_SOCKET/);
    expect(() => parseNotifySocket(`/${'a'.repeat(200)}`)).toThrow(/longer than 107 bytes/);
    expect(() => new SdNotifier({ env: { NOTIFY_SOCKET: 'vsock:2:1' } })).toThrow(expect.objectContaining({ code: 'SD_NOTIFY_INVALID_ENV' }));
  });
});

describe('watchdog interval', () => {
  it('is a third of WATCHDOG_USEC, in ms, so one lost ping still leaves the next in time', () => {
    expect(parseWatchdog({ WATCHDOG_USEC: '30000000' }, 42)).toBe(10_000);
    expect(parseWatchdog({ WATCHDOG_USEC: '1500' }, 42)).toBe(1);
    expect(parseWatchdog({}, 42)).toBeNull();
  });

  it('is null when WATCHDOG_PID names another process', () => {
    expect(parseWatchdog({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42)).toBe(10_000);
    expect(parseWatchdog({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '43' }, 42)).toBeNull();
    const n = new SdNotifier({ env: { NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '30000000', WATCHDOG_PID: '43' }, pid: 42 });
    expect(n.watchdogIntervalMs()).toBeNull();
  });

  it('rejects malformed values with a message naming the variable', () => {
    expect(() => parseWatchdog({ WATCHDOG_USEC: '30s' }, 1)).toThrow(/WATCHDOG_USEC must be a positive integer/);
    expect(() => parseWatchdog({ WATCHDOG_USEC: '0' }, 1)).toThrow(/WATCHDOG_USEC/);
    expect(() => parseWatchdog({ WATCHDOG_USEC: '100', WATCHDOG_PID: 'me' }, 1)).toThrow(/WATCHDOG_PID must be a process id/);
  });
});
