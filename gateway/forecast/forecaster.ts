import type { Forecast } from '../types.ts';

/** A (time, value) pair of history handed to the forecaster, oldest first. */
export interface HistoryPoint {
  /** Wall-clock time of the reading, ms since the epoch. */
  tMs: number;
  /** Relative humidity in %RH. */
  rh: number;
}

/** Why no forecast was made this cycle (published instead of a forecast). */
export interface NoForecast {
  sensorId: string;
  /**
   * no_history / too_many_gaps / stale: not enough usable input; stuck_sensor: the newest
   * reading is flagged 'stuck' (a frozen value would be forecast as flat); clock_untrusted: the
   * wall clock is not trusted yet, so steps and time of day would be wrong; model_error /
   * invalid_output: the model threw or returned NaN / values outside 0..100 %RH.
   */
  reason: 'no_history' | 'too_many_gaps' | 'stale' | 'stuck_sensor' | 'clock_untrusted' | 'model_error' | 'invalid_output';
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
