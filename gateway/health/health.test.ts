import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { DEFAULT_HEALTH_INTERVAL_MS, HealthMonitor, healthzResponse, type HealthCheck, type WatchdogNotifier } from './health.ts';

/** Lets every pending promise callback run (the checks are async even when they answer at once). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function recorder(intervalMs: number | null = 15_000): WatchdogNotifier & { calls: string[] } {
  const calls: string[] = [];
  return { calls, watchdog: () => calls.push('WATCHDOG=1'), status: (t) => calls.push(`STATUS=${t}`), watchdogIntervalMs: () => intervalMs };
}

const ok = (name: string): HealthCheck => ({ name, run: () => ({ ok: true, detail: `${name} fine` }) });

describe('HealthMonitor', () => {
  it('refuses to start without checks (that would be a blind watchdog ping)', () => {
    const monitor = new HealthMonitor({ clock: new ManualClock(), notifier: recorder() });
    expect(() => monitor.start()).toThrow(expect.objectContaining({ code: 'HEALTH_NO_CHECKS' }));
  });

  it('rejects duplicate and malformed check names', () => {
    const monitor = new HealthMonitor({ clock: new ManualClock(), notifier: recorder(), checks: [ok('store')] });
    expect(() => monitor.register(ok('store'))).toThrow(/already registered/);
    expect(() => monitor.register(ok('Bad Name'))).toThrow(/check names are/);
  });

  it('takes its interval from the watchdog, else the default, and bounds the check timeout', () => {
    expect(new HealthMonitor({ clock: new ManualClock(), notifier: recorder(4000) }).intervalMs).toBe(4000);
    expect(new HealthMonitor({ clock: new ManualClock(), notifier: recorder(4000) }).checkTimeoutMs).toBe(2000);
    const plain = new HealthMonitor({ clock: new ManualClock(), notifier: recorder(null) });
    expect(plain.intervalMs).toBe(DEFAULT_HEALTH_INTERVAL_MS);
    expect(plain.checkTimeoutMs).toBe(5000);
    expect(() => new HealthMonitor({ clock: new ManualClock(), notifier: recorder(), intervalMs: 0 })).toThrow(/intervalMs must be an integer/);
    expect(() => new HealthMonitor({ clock: new ManualClock(), notifier: recorder(), intervalMs: 1000, checkTimeoutMs: 2000 })).toThrow(/checkTimeoutMs/);
  });

  it('pings only when every check passes and reports each check in lastResult()', async () => {
    const clock = new ManualClock();
    const n = recorder();
    let storeOk = true;
    const monitor = new HealthMonitor({
      clock,
      notifier: n,
      checks: [ok('fresh-reading'), { name: 'store', run: () => ({ ok: storeOk, detail: storeOk ? 'flushed' : 'SQLITE_FULL: database or disk is full' }) }],
    });
    expect(monitor.lastResult()).toBeNull();
    await monitor.runOnce();
    expect(n.calls).toEqual(['WATCHDOG=1']);
    storeOk = false;
    clock.advance(1000);
    const failed = await monitor.runOnce();
    expect(n.calls).toEqual(['WATCHDOG=1', 'STATUS=unhealthy: store: SQLITE_FULL: database or disk is full']);
    expect(failed).toBe(monitor.lastResult());
    expect(failed.ok).toBe(false);
    expect(failed.checkedAtMs).toBe(clock.now());
    expect(failed.checks.map((c) => [c.name, c.ok])).toEqual([
      ['fresh-reading', true],
      ['store', false],
    ]);
  });

  it('counts a throwing check or a malformed answer as a failure naming it', async () => {
    const n = recorder();
    const boom = Object.assign(new Error('disk gone'), { code: 'SQLITE_IOERR' });
    const monitor = new HealthMonitor({
      clock: new ManualClock(),
      notifier: n,
      checks: [
        { name: 'store', run: () => { throw boom; } },
        { name: 'broker', run: () => Promise.reject(new Error('refused')) },
        { name: 'weird', run: () => ({ ok: 'yes' }) as never },
      ],
    });
    const result = await monitor.runOnce();
    expect(result.checks.map((c) => c.detail)).toEqual([
      'check threw: SQLITE_IOERR: disk gone',
      'check threw: refused',
      'check returned an object instead of {ok: boolean, detail: string}',
    ]);
    expect(n.calls).toEqual([`STATUS=unhealthy: store: check threw: SQLITE_IOERR: disk gone; broker: check threw: refused; weird: ${result.checks[2]?.detail}`]);
  });

  it('fails a check that does not answer within checkTimeoutMs and aborts it', async () => {
    const clock = new ManualClock();
    const n = recorder();
    let signal: AbortSignal | null = null;
    const hanging: HealthCheck = { name: 'broker', run: (s) => ((signal = s), new Promise(() => {})) };
    const monitor = new HealthMonitor({ clock, notifier: n, checks: [hanging], intervalMs: 10_000, checkTimeoutMs: 3000 });
    const run = monitor.runOnce();
    await settle();
    expect(signal).not.toBeNull();
    expect(signal!.aborted).toBe(false);
    clock.advance(2999);
    await settle();
    expect(monitor.lastResult()).toBeNull();
    clock.advance(1);
    const result = await run;
    expect(signal!.aborted).toBe(true);
    expect(result.checks[0]).toMatchObject({ ok: false, detail: 'no answer within 3000 ms (HEALTH_CHECK_TIMEOUT)', durationMs: 3000 });
    expect(n.calls).toEqual(['STATUS=unhealthy: broker: no answer within 3000 ms (HEALTH_CHECK_TIMEOUT)']);
  });

  it('runs at start and every interval, never overlapping a run still in progress', async () => {
    const clock = new ManualClock();
    const n = recorder(10_000);
    let runs = 0;
    let release: (() => void) | null = null;
    const slow: HealthCheck = {
      name: 'slow',
      run: () => {
        runs++;
        return new Promise((resolve) => (release = () => resolve({ ok: true, detail: 'done' })));
      },
    };
    const monitor = new HealthMonitor({ clock, notifier: n, checks: [slow], checkTimeoutMs: 10_000 });
    monitor.start();
    await settle();
    expect(runs).toBe(1);
    clock.advance(9_999);
    await settle();
    release!();
    await settle();
    expect(n.calls).toEqual(['WATCHDOG=1']);
    clock.advance(1); // tick 2 starts a new run
    await settle();
    expect(runs).toBe(2);
    clock.advance(10_000); // tick 3 finds run 2 in progress (its timeout fires after the tick): skipped
    await settle();
    expect(runs).toBe(2);
    expect(n.calls).toEqual(['WATCHDOG=1', 'STATUS=unhealthy: slow: no answer within 10000 ms (HEALTH_CHECK_TIMEOUT)']);
    await monitor.stop();
  });

  it('stop() aborts the run in progress, resolves after it, and sends nothing more', async () => {
    const clock = new ManualClock();
    const n = recorder();
    const aware: HealthCheck = {
      name: 'broker',
      run: (signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve({ ok: false, detail: 'aborted' }))),
    };
    const monitor = new HealthMonitor({ clock, notifier: n, checks: [aware] });
    monitor.start();
    await settle();
    await monitor.stop();
    expect(monitor.lastResult()?.checks[0]?.detail).toBe('aborted');
    clock.advance(60_000);
    await settle();
    expect(n.calls).toEqual([]);
  });

  it('keeps going when onResult throws', async () => {
    const n = recorder();
    const monitor = new HealthMonitor({ clock: new ManualClock(), notifier: n, checks: [ok('a')], onResult: () => { throw new Error('logger broke'); } });
    await expect(monitor.runOnce()).resolves.toMatchObject({ ok: true });
    expect(n.calls).toEqual(['WATCHDOG=1']);
  });
});

describe('healthzResponse', () => {
  it('is 503 before the first run and when unhealthy, 200 when healthy', () => {
    expect(healthzResponse(null)).toEqual({ statusCode: 503, body: { status: 'starting', checkedAtMs: null, checks: [] } });
    const check = { name: 'store', ok: false, detail: 'x', durationMs: 1 };
    expect(healthzResponse({ ok: false, checkedAtMs: 5, checks: [check] })).toEqual({ statusCode: 503, body: { status: 'unhealthy', checkedAtMs: 5, checks: [check] } });
    expect(healthzResponse({ ok: true, checkedAtMs: 5, checks: [] }).statusCode).toBe(200);
  });
});

describe('HealthMonitor with a notifier that throws', () => {
  it('still records the result and calls onResult', async () => {
    const results: boolean[] = [];
    const broken: WatchdogNotifier = {
      watchdog: () => {
        throw new Error('socket gone');
      },
      status: () => {},
      watchdogIntervalMs: () => null,
    };
    const monitor = new HealthMonitor({ clock: new ManualClock(), notifier: broken, checks: [ok('a')], onResult: (r) => results.push(r.ok) });
    await expect(monitor.runOnce()).resolves.toMatchObject({ ok: true });
    expect(results).toEqual([true]);
  });
});
