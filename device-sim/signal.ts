import { Prng } from './prng.ts';

const DAY_MS = 86_400_000;

export interface SignalOptions {
  /** Seed of the PRNG; the same seed and the same time sequence give the same samples. */
  seed: number;
  /** Long-run mean humidity in %RH. Default 55. */
  meanRh?: number;
  /** Half the peak-to-peak daily swing in %RH. Default 8. */
  dailyAmplitudeRh?: number;
  /** Stationary standard deviation of the weather-front process in %RH. Default 7. */
  frontSigmaRh?: number;
  /** Correlation time of weather fronts in ms. Default 12 h. */
  frontTauMs?: number;
  /** Standard deviation of per-sample sensor noise in %RH. Default 0.25 (an SHT3x is about 0.2). */
  noiseRh?: number;
  /** Mean temperature in degrees C. Default 20. */
  meanTempC?: number;
  /** Half the daily temperature swing in degrees C. Default 4. */
  dailyAmplitudeC?: number;
  /** Offset of local time from UTC in ms, so the daily cycle follows the sun. Default 0. */
  utcOffsetMs?: number;
}

export interface SignalSample {
  rh: number;
  tempC: number;
}

/**
 * A plausible indoor/outdoor humidity signal: a daily cycle (RH highest before dawn, lowest in
 * mid-afternoon, temperature the opposite, as in the UCI Appliances data), slow weather fronts as
 * an Ornstein-Uhlenbeck process (mean-reverting, so it never drifts off to 0 or 100 for good),
 * and white sensor noise; clamped to the sensor's range.
 * Driven only by the time argument: call `sample` with non-decreasing times (a time earlier than
 * the previous one is treated as no time passing, never as a rewind).
 */
export class HumiditySignal {
  private readonly rng: Prng;
  private readonly o: Required<Omit<SignalOptions, 'seed'>>;
  private front: number;
  private lastMs: number | null = null;

  constructor(options: SignalOptions) {
    this.rng = new Prng(options.seed);
    this.o = {
      meanRh: options.meanRh ?? 55,
      dailyAmplitudeRh: options.dailyAmplitudeRh ?? 8,
      frontSigmaRh: options.frontSigmaRh ?? 7,
      frontTauMs: options.frontTauMs ?? 12 * 3_600_000,
      noiseRh: options.noiseRh ?? 0.25,
      meanTempC: options.meanTempC ?? 20,
      dailyAmplitudeC: options.dailyAmplitudeC ?? 4,
      utcOffsetMs: options.utcOffsetMs ?? 0,
    };
    if (!(this.o.frontTauMs > 0)) throw new RangeError(`frontTauMs must be > 0, got ${this.o.frontTauMs}`);
    // Start from the stationary distribution so the first hours look like any other hours.
    this.front = this.rng.gaussian() * this.o.frontSigmaRh;
  }

  sample(timeMs: number): SignalSample {
    this.advanceFront(timeMs);
    // Phase 0 at 15:00 local: the afternoon temperature peak and humidity trough.
    const dayPhase = (2 * Math.PI * (timeMs + this.o.utcOffsetMs - 15 * 3_600_000)) / DAY_MS;
    const daily = Math.cos(dayPhase);
    const rh = this.o.meanRh - this.o.dailyAmplitudeRh * daily + this.front + this.rng.gaussian() * this.o.noiseRh;
    // Wet fronts are cooler: a weak negative coupling keeps temperature and RH consistent.
    const tempC = this.o.meanTempC + this.o.dailyAmplitudeC * daily - 0.08 * this.front + this.rng.gaussian() * 0.05;
    return { rh: clamp(rh, 0, 100), tempC: clamp(tempC, -40, 125) };
  }

  /** Exact OU discretisation: correct for any step, so irregular sampling keeps the statistics. */
  private advanceFront(timeMs: number): void {
    const dt = this.lastMs === null ? 0 : Math.max(0, timeMs - this.lastMs);
    this.lastMs = this.lastMs === null ? timeMs : Math.max(this.lastMs, timeMs);
    if (dt === 0) return;
    const decay = Math.exp(-dt / this.o.frontTauMs);
    this.front = this.front * decay + this.o.frontSigmaRh * Math.sqrt(1 - decay * decay) * this.rng.gaussian();
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
