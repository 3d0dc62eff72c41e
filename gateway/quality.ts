import { RH_MAX, RH_MIN, TEMP_MAX_C, TEMP_MIN_C } from '../firmware-bridge/messages.ts';
import { systemClock } from './clock.ts';
import { setMostRecent } from './recent-map.ts';
import type { Clock } from './clock.ts';
import type { QualityFlag, Reading } from './types.ts';

export interface QualityOptions {
  /**
   * A reading is `stuck` when its RH equals, exactly, every RH of the same sensor for longer than
   * this, in ms. Default 30 min: at the wire's 0.01 %RH resolution a live sensor's noise changes the
   * value within minutes even in a still room, while a dead or saturated one repeats it (RH_6 in
   * the appliances data reads exactly 1 for 40 min on 2016-04-09, and 99.9 for days in January).
   * Config `quality.stuckWindowMs`.
   */
  stuckWindowMs?: number;
  /**
   * A reading further than this from the sensor's last accepted RH is a `spike`, in %RH. Default 15.
   * The spike itself is not what the next reading is compared with; SPIKE_CONFIRM_READINGS in a
   * row that agree with each other are a real level change, accepted from the last of them.
   */
  spikeThresholdRh?: number;
  /** A reading whose wallTimeMs is older than this at assessment is `stale`, in ms. Default 60 000. */
  staleAfterMs?: number;
  /** Sensors tracked at once; beyond it the least recently seen is forgotten. Default 1024. */
  maxSensors?: number;
  /** Default systemClock. */
  clock?: Clock;
}

export const DEFAULT_STUCK_WINDOW_MS = 30 * 60_000;
export const DEFAULT_SPIKE_THRESHOLD_RH = 15;
export const DEFAULT_STALE_AFTER_MS = 60_000;
export const DEFAULT_MAX_QUALITY_SENSORS = 1024;
/** Readings in a row, each a spike against the last accepted RH but close to each other, that make a level change real. */
export const SPIKE_CONFIRM_READINGS = 3;
/**
 * Identical readings a run needs, besides lasting stuckWindowMs, to be `stuck`: a sensor reporting
 * every 30 min at 0.1 %RH in a stable room often repeats a value twice, which is not a dead sensor.
 */
export const STUCK_MIN_READINGS = 4;

interface SensorState {
  /** The last RH not flagged spike: what the next reading is compared with. */
  lastRh: number;
  /** wallTimeMs of the first reading of the current run of identical values. */
  runStartMs: number;
  /** Readings in the current run of identical values. */
  runCount: number;
  /** Consecutive spikes that agree with each other (a level change being confirmed), and the last of them. */
  shiftCount: number;
  shiftLast: number;
}

/**
 * Data quality flags, per sensor, from the readings alone (pure logic, no I/O):
 * - out_of_range: RH outside 0..100 %RH or temperature outside -40..125 °C;
 * - stuck: same RH for longer than stuckWindowMs and at least STUCK_MIN_READINGS readings (flagged
 *   from the moment both hold; readings already passed on are not revised);
 * - spike: |RH - last accepted RH| > spikeThresholdRh, until SPIKE_CONFIRM_READINGS agreeing
 *   readings in a row make it a level change;
 * - stale: wallTimeMs older than staleAfterMs, or the first reading after noteLinkGap.
 * Flags the reading already carries (sensor_error from the firmware) are kept. A reading without
 * RH (sensor error) neither starts nor breaks a stuck run.
 */
export class QualityChecker {
  private readonly stuckWindowMs: number;
  private readonly spikeThresholdRh: number;
  private readonly staleAfterMs: number;
  private readonly maxSensors: number;
  private readonly clock: Clock;
  private readonly sensors = new Map<string, SensorState>();
  private readonly gapPending = new Set<string>();

  constructor(options: QualityOptions = {}) {
    this.stuckWindowMs = positive('stuckWindowMs', options.stuckWindowMs ?? DEFAULT_STUCK_WINDOW_MS);
    this.spikeThresholdRh = positive('spikeThresholdRh', options.spikeThresholdRh ?? DEFAULT_SPIKE_THRESHOLD_RH);
    this.staleAfterMs = positive('staleAfterMs', options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS);
    this.maxSensors = positive('maxSensors', options.maxSensors ?? DEFAULT_MAX_QUALITY_SENSORS);
    this.clock = options.clock ?? systemClock;
  }

  /** The link that carried these sensors went down: their next reading is flagged stale. */
  noteLinkGap(sensorIds: readonly string[]): void {
    for (const id of sensorIds) {
      if (this.gapPending.size >= this.maxSensors) break;
      this.gapPending.add(id);
    }
  }

  /** Returns the reading with its flags (a new object when flags were added; the input is not modified). */
  assess(reading: Reading): Reading {
    const flags = new Set<QualityFlag>(reading.quality);
    if (outOfRange(reading)) flags.add('out_of_range');
    const afterGap = this.gapPending.delete(reading.sensorId);
    if (afterGap || this.clock.now() - reading.wallTimeMs > this.staleAfterMs) flags.add('stale');
    if (reading.rh !== null && !flags.has('out_of_range')) this.track(reading.sensorId, reading.rh, reading.wallTimeMs, flags);
    if (flags.size === reading.quality.length) return reading;
    return { ...reading, quality: [...flags] };
  }

  private track(sensorId: string, rh: number, timeMs: number, flags: Set<QualityFlag>): void {
    const state = this.sensors.get(sensorId);
    if (!state) {
      setMostRecent(this.sensors, sensorId, { lastRh: rh, runStartMs: timeMs, runCount: 1, shiftCount: 0, shiftLast: rh }, this.maxSensors);
      return;
    }
    if (Math.abs(rh - state.lastRh) > this.spikeThresholdRh) {
      const agrees = state.shiftCount > 0 && Math.abs(rh - state.shiftLast) <= this.spikeThresholdRh;
      state.shiftCount = agrees ? state.shiftCount + 1 : 1;
      state.shiftLast = rh;
      if (state.shiftCount < SPIKE_CONFIRM_READINGS) {
        flags.add('spike');
        setMostRecent(this.sensors, sensorId, state, this.maxSensors);
        return;
      }
    }
    state.shiftCount = 0;
    if (rh === state.lastRh) {
      state.runCount++;
      if (timeMs - state.runStartMs > this.stuckWindowMs && state.runCount >= STUCK_MIN_READINGS) flags.add('stuck');
    } else {
      state.lastRh = rh;
      state.runStartMs = timeMs;
      state.runCount = 1;
    }
    // Least recently seen first, which is what the bound drops.
    setMostRecent(this.sensors, sensorId, state, this.maxSensors);
  }
}

/**
 * Outside the physical ranges: the wire protocol's (firmware-bridge/messages.ts), so a serial
 * reading never gets this flag; readings from MQTT sensors and the simulator can.
 */
function outOfRange(r: Reading): boolean {
  if (r.rh !== null && !(r.rh >= RH_MIN && r.rh <= RH_MAX)) return true;
  return r.tempC !== null && !(r.tempC >= TEMP_MIN_C && r.tempC <= TEMP_MAX_C);
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw Object.assign(new RangeError(`quality option ${name} must be a positive number, got ${value}`), { code: 'EINVALID_OPTION' });
  return value;
}
