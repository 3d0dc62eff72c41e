import type { Forecast } from '../types.ts';

/**
 * A (time, value) pair of history handed to the forecaster, oldest first: a reading, or (from the
 * scheduler) a step's mean at the time of its newest usable reading; the forecaster resamples
 * both the same way (models/resample.ts).
 */
export interface HistoryPoint {
  /** Wall-clock time of the reading, ms since the epoch. */
  tMs: number;
  /** Relative humidity in %RH; meaningless (NaN) when `faulty`. */
  rh: number;
  /**
   * True for a reading flagged unusable: never model input, but it shows the sensor is still
   * sending, so a sensor whose every recent reading is flagged is refused as faulty_readings, not stale.
   */
  faulty?: boolean;
}

/** Why no forecast was made this cycle (published instead of a forecast). */
export interface NoForecast {
  sensorId: string;
  /**
   * no_history / too_many_gaps / stale: not enough usable input; faulty_readings: readings
   * arrive but every recent one is flagged unusable (out_of_range, sensor_error, spike);
   * stuck_sensor: the newest reading is flagged 'stuck' (a frozen value would be forecast as flat); clock_untrusted: the
   * wall clock is not trusted yet, so steps and time of day would be wrong; model_error /
   * invalid_output: the model threw or returned NaN / values outside 0..100 %RH.
   */
  reason: 'no_history' | 'too_many_gaps' | 'stale' | 'faulty_readings' | 'stuck_sensor' | 'clock_untrusted' | 'model_error' | 'invalid_output';
  detail: string;
}

/** What the loaded model says about itself (read from the ONNX file's metadata_props). */
export interface ModelInfo {
  version: string;
  path: string;
  stepS: number;
  windowSteps: number;
  horizonsS: number[];
  intervalLevel: number;
}

/**
 * Turns a sensor's history into a forecast. Contract: forecast() never throws; a model that
 * throws or returns NaN / out-of-range values yields a NoForecast with reason model_error or
 * invalid_output, and the caller keeps publishing readings.
 */
export interface Forecaster {
  readonly info: ModelInfo;
  forecast(sensorId: string, history: HistoryPoint[], nowMs: number): Promise<Forecast | NoForecast>;
  close(): Promise<void>;
}
