import type { Clock, TimerHandle } from '../clock.ts';
import { HealthError, checkIntOption } from './errors.ts';

/** What one check found. `detail` is for people: it goes into STATUS= and /healthz. */
export interface CheckResult {
  ok: boolean;
  detail: string;
}

/**
 * One health check, registered by the composition root. Contract: run() answers within the
 * monitor's checkTimeoutMs (a late answer counts as a failure) and stops its work when `signal`
 * aborts. A throw or rejection is a failure whose detail names the error; it never escapes.
 */
export interface HealthCheck {
  /** Short stable name, used in STATUS= and /healthz (e.g. "fresh-reading", "store", "broker"). */
  readonly name: string;
  run(signal: AbortSignal): CheckResult | Promise<CheckResult>;
}

export interface CheckOutcome extends CheckResult {
  name: string;
  /** How long the check took, in ms of monotonic time. */
  durationMs: number;
}

export interface HealthResult {
  /** True when every check passed. */
  ok: boolean;
  /** Wall-clock time the run finished, ms since the epoch. */
  checkedAtMs: number;
  checks: CheckOutcome[];
}

/** The part of SdNotifier the monitor uses. */
export interface WatchdogNotifier {
  watchdog(): void;
  status(text: string): void;
  watchdogIntervalMs(): number | null;
}

export interface HealthMonitorOptions {
  clock: Clock;
  notifier: WatchdogNotifier;
  checks?: HealthCheck[];
  /** Time between runs, in ms. Default: the notifier's ping interval (half WATCHDOG_USEC), else 10 000. */
  intervalMs?: number;
  /** A check that has not answered after this long fails, in ms. Default min(5000, intervalMs / 2). */
  checkTimeoutMs?: number;
  /** Called after every run (for logs and metrics). Must not throw; a throw is ignored. */
  onResult?: (result: HealthResult) => void;
}

/** Run interval when systemd runs no watchdog (so /healthz still has a fresh answer), in ms. */
export const DEFAULT_HEALTH_INTERVAL_MS = 10_000;
/** Upper bound of the default per-check timeout, in ms. */
export const DEFAULT_CHECK_TIMEOUT_MS = 5000;

/**
 * Runs every check each interval and pings the systemd watchdog only when all of them pass.
 * A free-running ping never catches a wedged process; this one stops when the pipeline,
 * the store or the broker stops working, and systemd restarts the service after WatchdogSec.
 * When a check fails it sends STATUS=unhealthy: <check>: <why> instead, so `systemctl status`
 * and the journal say what was wrong; when all pass again after a failure it sends STATUS=healthy.
 * Runs never overlap: a tick that finds the previous run still going is skipped.
 */
export class HealthMonitor {
  readonly intervalMs: number;
  readonly checkTimeoutMs: number;
  private readonly clock: Clock;
  private readonly notifier: WatchdogNotifier;
  private readonly onResult: (result: HealthResult) => void;
  private readonly checks: HealthCheck[] = [];
  private timer: TimerHandle | null = null;
  private inFlight: Promise<HealthResult> | null = null;
  private abort: AbortController | null = null;
  private last: HealthResult | null = null;
  private stopped = false;

  constructor(options: HealthMonitorOptions) {
    this.clock = options.clock;
    this.notifier = options.notifier;
    this.onResult = options.onResult ?? (() => {});
    const interval = options.intervalMs ?? options.notifier.watchdogIntervalMs() ?? DEFAULT_HEALTH_INTERVAL_MS;
    this.intervalMs = checkIntOption('intervalMs', interval, 1, 3_600_000);
    const timeout = options.checkTimeoutMs ?? Math.max(1, Math.min(DEFAULT_CHECK_TIMEOUT_MS, Math.floor(this.intervalMs / 2)));
    this.checkTimeoutMs = checkIntOption('checkTimeoutMs', timeout, 1, this.intervalMs);
    for (const check of options.checks ?? []) this.register(check);
  }

  /** Adds a check; names must be unique. Takes effect from the next run. */
  register(check: HealthCheck): void {
    if (typeof check.name !== 'string' || !/^[a-z0-9][a-z0-9-]{0,31}$/.test(check.name)) {
      throw new HealthError('HEALTH_INVALID_ARGUMENT', `check names are 1-32 characters of a-z, 0-9 and - (got ${JSON.stringify(check.name)})`);
    }
    if (this.checks.some((c) => c.name === check.name)) {
      throw new HealthError('HEALTH_INVALID_ARGUMENT', `a check named "${check.name}" is already registered`);
    }
    this.checks.push(check);
  }

  /** Runs the checks now and then every intervalMs. Throws HEALTH_NO_CHECKS without checks. */
  start(): void {
    if (this.checks.length === 0) {
      throw new HealthError('HEALTH_NO_CHECKS', 'the health monitor has no checks; it would ping the watchdog blindly');
    }
    if (this.timer || this.stopped) return;
    this.timer = this.clock.setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref?.();
    this.tick();
  }

  /** Stops the schedule, aborts a run in progress and resolves once it has finished. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.clock.clearInterval(this.timer);
    this.timer = null;
    this.abort?.abort();
    await this.inFlight;
  }

  /** The latest finished run, or null before the first one finished (serve it at /healthz). */
  lastResult(): HealthResult | null {
    return this.last;
  }

  /**
   * Runs every check once (concurrently) and acts on the result: WATCHDOG=1 when all pass,
   * STATUS= naming the failures otherwise. Never rejects. The timer calls this; tests may too.
   */
  async runOnce(): Promise<HealthResult> {
    const abort = new AbortController();
    this.abort = abort;
    const checks = await Promise.all(this.checks.map((check) => this.runCheck(check, abort.signal)));
    const result: HealthResult = { ok: checks.every((c) => c.ok), checkedAtMs: this.clock.now(), checks };
    const wasOk = this.last?.ok ?? true;
    this.last = result;
    // SdNotifier never throws and onResult is for logging: a bug in either must not stop the
    // loop or make this promise reject (a missed ping is what the watchdog is for).
    swallow(() => !this.stopped && this.notify(result, wasOk));
    swallow(() => this.onResult(result));
    return result;
  }

  private tick(): void {
    if (this.inFlight || this.stopped) return;
    this.inFlight = this.runOnce().finally(() => {
      this.inFlight = null;
    });
  }

  private notify(result: HealthResult, wasOk: boolean): void {
    if (result.ok) {
      this.notifier.watchdog();
      if (!wasOk) this.notifier.status('healthy');
      return;
    }
    const failed = result.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
    this.notifier.status(`unhealthy: ${failed.join('; ')}`);
  }

  private async runCheck(check: HealthCheck, signal: AbortSignal): Promise<CheckOutcome> {
    const started = this.clock.monotonic();
    const abort = new AbortController();
    const onOuterAbort = (): void => abort.abort();
    signal.addEventListener('abort', onOuterAbort, { once: true });
    let resolveTimeout: (r: CheckResult) => void = () => {};
    const timedOut = new Promise<CheckResult>((resolve) => {
      resolveTimeout = resolve;
    });
    const timer = this.clock.setTimeout(() => {
      abort.abort();
      resolveTimeout({ ok: false, detail: `no answer within ${this.checkTimeoutMs} ms (HEALTH_CHECK_TIMEOUT)` });
    }, this.checkTimeoutMs);
    let result: CheckResult;
    try {
      result = validResult(await Promise.race([Promise.resolve().then(() => check.run(abort.signal)), timedOut]));
    } catch (err) {
      result = { ok: false, detail: `check threw: ${describeError(err)}` };
    } finally {
      this.clock.clearTimeout(timer);
      signal.removeEventListener('abort', onOuterAbort);
    }
    return { name: check.name, ok: result.ok, detail: result.detail, durationMs: this.clock.monotonic() - started };
  }
}

function swallow(fn: () => unknown): void {
  try {
    fn();
  } catch {
    // see the caller
  }
}

function validResult(value: unknown): CheckResult {
  const r = value as Partial<CheckResult> | null;
  if (r === null || typeof r !== 'object' || typeof r.ok !== 'boolean' || typeof r.detail !== 'string') {
    return { ok: false, detail: `check returned ${typeof value === 'object' ? 'an object' : String(value)} instead of {ok: boolean, detail: string}` };
  }
  return { ok: r.ok, detail: r.detail };
}

/** "CODE: message" for errors that carry a code, else the message. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

/** The /healthz answer for a result: 200 when healthy, 503 when not or before the first run. */
export function healthzResponse(result: HealthResult | null): { statusCode: 200 | 503; body: { status: 'ok' | 'unhealthy' | 'starting'; checkedAtMs: number | null; checks: CheckOutcome[] } } {
  if (result === null) return { statusCode: 503, body: { status: 'starting', checkedAtMs: null, checks: [] } };
  return { statusCode: result.ok ? 200 : 503, body: { status: result.ok ? 'ok' : 'unhealthy', checkedAtMs: result.checkedAtMs, checks: result.checks } };
}
