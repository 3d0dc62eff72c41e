import { ModelError } from './errors.ts';

/** Offsets are looked up once per UTC quarter-hour: today's zones change offset only on quarter-hour boundaries. */
const LOOKUP_MS = 15 * 60_000;
/** Bound of the offset cache, in entries (a year of quarter-hours is 35,040). */
const MAX_CACHED = 100_000;

/** True when `zone` is an IANA time zone this runtime knows (e.g. Europe/Brussels, UTC). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The process's time zone, as the gateway uses it for the time-of-day input. */
export function processTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/**
 * Turns instants into "naive" local times in one IANA zone: ms whose UTC fields are the zone's
 * wall-clock fields (what the trainer's time-of-day input is computed from, time-features.ts).
 */
export class NaiveClock {
  readonly timeZone: string;
  private readonly format: Intl.DateTimeFormat;
  private readonly offsets = new Map<number, number>();

  constructor(timeZone: string = processTimeZone()) {
    if (!isTimeZone(timeZone)) throw new ModelError('DATA_INVALID', `time zone "${timeZone}" is not an IANA time zone (e.g. Europe/Brussels, UTC)`);
    this.format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    this.timeZone = this.format.resolvedOptions().timeZone;
  }

  naiveMs(instantMs: number): number {
    return instantMs + this.offsetMs(instantMs);
  }

  /** The zone's offset from UTC at an instant, in ms. */
  offsetMs(instantMs: number): number {
    const key = Math.floor(instantMs / LOOKUP_MS);
    let offset = this.offsets.get(key);
    if (offset === undefined) {
      const at = key * LOOKUP_MS;
      const f = Object.fromEntries(this.format.formatToParts(at).map((p) => [p.type, p.value]));
      const wall = Date.UTC(Number(f.year), Number(f.month) - 1, Number(f.day), Number(f.hour), Number(f.minute), Number(f.second));
      offset = wall - at;
      if (this.offsets.size >= MAX_CACHED) this.offsets.clear();
      this.offsets.set(key, offset);
    }
    return offset;
  }
}
