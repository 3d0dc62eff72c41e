import type { Clock } from '../clock.ts';
import type { SourceConfig } from '../config/schema.ts';
import type { LinkState, Reading } from '../types.ts';
import { checkIntOption } from './errors.ts';
import type { CheckResult, HealthCheck } from './health.ts';

/** Floor of the default staleness bound, in ms: short intervals must not make a GC pause fatal. */
export const MIN_STALE_AFTER_MS = 10_000;

/**
 * The default staleness bound for a set of sources: 3 x the longest time a healthy source may
 * stay silent (a simulator's or I2C sensor's sampling interval; a serial link's dataTimeoutMs,
 * after which the source itself reports the link down), and at least MIN_STALE_AFTER_MS.
 */
export function staleAfterMsFor(sources: readonly SourceConfig[]): number {
  const longest = Math.max(0, ...sources.map(longestSilenceMs));
  return Math.max(MIN_STALE_AFTER_MS, 3 * longest);
}

/** A polled source (sim, i2c) is silent for one interval; a serial link until its data timeout. */
function longestSilenceMs(source: SourceConfig): number {
  if ('intervalMs' in source) return source.intervalMs;
  if ('dataTimeoutMs' in source) return source.dataTimeoutMs;
  return 0;
}

export interface FreshReadingOptions {
  clock: Clock;
  /** A source that delivered nothing for longer than this while its link is not known to be down fails, in ms. Default MIN_STALE_AFTER_MS. */
  staleAfterMs?: number;
}

/** What the check needs of a source (a ReadingSource is one). */
export interface WatchableSource {
  readonly name: string;
  on(event: 'reading', listener: (reading: Reading) => void): unknown;
  on(event: 'link', listener: (state: LinkState, detail: string) => void): unknown;
  off(event: 'reading', listener: (reading: Reading) => void): unknown;
  off(event: 'link', listener: (state: LinkState, detail: string) => void): unknown;
}

interface SourceState {
  link: LinkState;
  /** Why the link went down; kept through 'connecting' (a retry) until the link is 'up' again. */
  fault: string | null;
  /** Monotonic ms of the last reading, or of the watch start / last link-up when later (the grace). */
  lastActivityMs: number;
  readings: number;
}

/**
 * "Readings are flowing": for every watched source, either a reading arrived within
 * staleAfterMs, or the link is down with a known fault. A known fault (device unplugged,
 * silent firmware) is healthy for the process: the source retries and the link heals itself,
 * and a restart would not plug the cable back in. A link that says 'up' but delivers nothing
 * is a wedged pipeline, which a restart does fix. A source starts (and restarts on each link-up)
 * with a grace of staleAfterMs for its first reading.
 */
export class FreshReadingCheck implements HealthCheck {
  readonly name = 'fresh-reading';
  readonly staleAfterMs: number;
  private readonly clock: Clock;
  private readonly sources = new Map<string, SourceState>();

  constructor(options: FreshReadingOptions) {
    this.clock = options.clock;
    this.staleAfterMs = checkIntOption('staleAfterMs', options.staleAfterMs ?? MIN_STALE_AFTER_MS, 1, 86_400_000);
  }

  /** Follows a source's 'reading' and 'link' events; returns a function that stops following it. */
  watch(source: WatchableSource): () => void {
    this.track(source.name);
    const onReading = (): void => this.noteReading(source.name);
    const onLink = (state: LinkState, detail: string): void => this.noteLink(source.name, state, detail);
    source.on('reading', onReading);
    source.on('link', onLink);
    return () => {
      source.off('reading', onReading);
      source.off('link', onLink);
      this.sources.delete(source.name);
    };
  }

  noteReading(sourceName: string): void {
    const s = this.track(sourceName);
    s.lastActivityMs = this.clock.monotonic();
    s.readings++;
  }

  noteLink(sourceName: string, state: LinkState, detail: string): void {
    const s = this.track(sourceName);
    if (state === 'up' && s.link !== 'up') s.lastActivityMs = this.clock.monotonic();
    if (state === 'down') s.fault = detail.trim() === '' ? 'no reason given' : detail;
    if (state === 'up') s.fault = null;
    s.link = state;
  }

  run(): CheckResult {
    if (this.sources.size === 0) return { ok: true, detail: 'no reading sources to watch' };
    const now = this.clock.monotonic();
    const verdicts = [...this.sources].map(([name, s]) => this.judge(name, s, now));
    const failed = verdicts.filter((v) => !v.ok);
    return failed.length > 0
      ? { ok: false, detail: failed.map((v) => v.detail).join('; ') }
      : { ok: true, detail: verdicts.map((v) => v.detail).join('; ') };
  }

  private judge(name: string, s: SourceState, now: number): CheckResult {
    if (s.fault !== null) return { ok: true, detail: `${name}: link ${s.link} (${s.fault}), retrying` };
    const ageMs = Math.max(0, Math.round(now - s.lastActivityMs));
    if (ageMs <= this.staleAfterMs) return { ok: true, detail: `${name}: ${s.readings > 0 ? `last reading ${ageMs} ms ago` : 'waiting for the first reading'}` };
    const what = s.readings > 0 ? `no reading for ${ageMs} ms` : `no reading ${ageMs} ms after the link came up or watching began`;
    return { ok: false, detail: `${name}: ${what} while the link is ${s.link} with no known fault (stale after ${this.staleAfterMs} ms)` };
  }

  private track(name: string): SourceState {
    let s = this.sources.get(name);
    if (!s) {
      s = { link: 'connecting', fault: null, lastActivityMs: this.clock.monotonic(), readings: 0 };
      this.sources.set(name, s);
    }
    return s;
  }
}
