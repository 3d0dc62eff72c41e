import { execFile } from 'node:child_process';
import type { Clock, TimerHandle } from './clock.ts';

/** `always`: the wall clock is right from boot (a Pi with an RTC); `never`: never trust it; `auto`: decide (see ClockTrust). */
export type ClockTrustMode = 'auto' | 'always' | 'never';

/** Answers "is the system clock NTP-synchronised?": true, false, or null when it cannot tell (no timedatectl). */
export type NtpProbe = () => Promise<boolean | null>;

/** No clock can be right before this hygrocast was built: 2026-11-01T00:00:00Z. Update with releases. */
export const BUILD_DATE_MS = Date.UTC(2026, 10, 1);
/** How often `auto` asks the probe until the clock is trusted, in ms. */
export const DEFAULT_TRUST_CHECK_INTERVAL_MS = 10_000;
/** The probe's subprocess is killed after this long, in ms. */
export const PROBE_TIMEOUT_MS = 2000;

export interface ClockTrustOptions {
  mode: ClockTrustMode;
  clock: Clock;
  /** Default timedatectlProbe. */
  probe?: NtpProbe;
  /** Default BUILD_DATE_MS. */
  notBeforeMs?: number;
  /** Default DEFAULT_TRUST_CHECK_INTERVAL_MS. */
  checkIntervalMs?: number;
  /** Called once, when the clock becomes trusted. */
  onTrusted?: (wallMs: number) => void;
}

/**
 * `timedatectl show -p NTPSynchronized --value`: "yes" or "no" on a systemd machine; any failure
 * (no systemd in a container, no timedatectl) answers null so the caller falls back to the build date.
 */
export const timedatectlProbe: NtpProbe = () =>
  new Promise((resolve) => {
    execFile('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], { timeout: PROBE_TIMEOUT_MS }, (err, stdout) => {
      if (err) return resolve(null);
      const answer = stdout.trim();
      resolve(answer === 'yes' ? true : answer === 'no' ? false : null);
    });
  });

/**
 * Decides when the gateway's wall clock can be trusted (a Pi has no RTC: it boots with a stale
 * time until NTP syncs). In `auto` mode the NTP answer decides when there is one; without one,
 * a wall clock at or after the build date is trusted. Trust latches: once trusted, a later lost
 * NTP sync does not make the clock wrong, and stored times are never corrected twice.
 * Lifecycle: start() runs the first check before resolving (so readings of the first second are
 * classified correctly), then checks every checkIntervalMs until trusted; stop() ends the timer.
 * A probe never throws into the gateway: its failures mean "cannot tell".
 */
export class ClockTrust {
  private trusted: boolean;
  private timer: TimerHandle | null = null;
  private readonly probe: NtpProbe;
  private readonly notBeforeMs: number;
  private readonly checkIntervalMs: number;

  constructor(private readonly options: ClockTrustOptions) {
    this.trusted = options.mode === 'always';
    this.probe = options.probe ?? timedatectlProbe;
    this.notBeforeMs = options.notBeforeMs ?? BUILD_DATE_MS;
    this.checkIntervalMs = options.checkIntervalMs ?? DEFAULT_TRUST_CHECK_INTERVAL_MS;
  }

  isTrusted(): boolean {
    return this.trusted;
  }

  async start(): Promise<void> {
    if (this.options.mode !== 'auto' || this.trusted) return;
    await this.check();
    if (this.trusted || this.timer !== null) return;
    this.timer = this.options.clock.setInterval(() => void this.check(), this.checkIntervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer !== null) this.options.clock.clearInterval(this.timer);
    this.timer = null;
  }

  /** One check; resolves with the (latched) verdict. */
  async check(): Promise<boolean> {
    if (this.trusted || this.options.mode !== 'auto') return this.trusted;
    let ntp: boolean | null;
    try {
      ntp = await this.probe();
    } catch {
      ntp = null;
    }
    const ok = ntp ?? this.options.clock.now() >= this.notBeforeMs;
    if (ok && !this.trusted) {
      this.trusted = true;
      this.stop();
      this.options.onTrusted?.(this.options.clock.now());
    }
    return this.trusted;
  }
}
