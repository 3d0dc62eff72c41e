/**
 * Domain types shared by every hygrocast component: the firmware bridge produces them, the
 * store keeps them, the broker and dashboard publish them. The dashboard's WebSocket messages
 * are built from these same types (see gateway/dashboard/messages.ts).
 */

/** Why a reading is suspect. Flags travel with the reading into the store, MQTT and the dashboard. */
export type QualityFlag =
  | 'out_of_range' // outside the sensor's physical range (RH < 0 or > 100, temperature outside -40..125 C)
  | 'stuck' // the same value for longer than the stuck window
  | 'spike' // jump larger than the spike threshold between consecutive readings
  | 'stale' // reading arrived late or after a link gap
  | 'sensor_error'; // firmware reported a sensor fault (value may be missing)

/** One humidity measurement, as the gateway keeps it. */
export interface Reading {
  /** Sensor id as given by the firmware or MQTT publisher ([A-Za-z0-9_-]{1,32}). */
  sensorId: string;
  /** Firmware boot id (changes on every device reboot); with seq it identifies the reading. */
  bootId: string;
  /** Per-boot sequence number from the firmware (monotonic within a boot). */
  seq: number;
  /** Device uptime in milliseconds at measurement time (monotonic within a boot). */
  uptimeMs: number;
  /** Gateway wall-clock time of reception, ms since the Unix epoch (may be corrected later). */
  wallTimeMs: number;
  /** Relative humidity in %RH; null when the sensor reported an error. */
  rh: number | null;
  /** Temperature in degrees C; null when the sensor has none or reported an error. */
  tempC: number | null;
  /** Quality flags; empty when the reading is good. */
  quality: QualityFlag[];
}

/** A forecast for one sensor, made at `issuedAtMs` from history up to `baseTimeMs`. */
export interface Forecast {
  sensorId: string;
  /** Wall-clock time the forecast was computed, ms since the epoch. */
  issuedAtMs: number;
  /** Time of the last resampled step the model saw, ms since the epoch. */
  baseTimeMs: number;
  /**
   * The model's input for that last step (the value the points continue from), %RH: the step's
   * mean, or the held or interpolated value when the step had no usable reading. Absent when the
   * forecaster does not report it (test doubles); alerts then interpolate from the first horizon.
   */
  baseRh?: number;
  /** Model version string from the model's metadata. */
  modelVersion: string;
  /**
   * Central level of the points' interval (the model's interval_level, e.g. 0.8), carried with
   * the forecast so that band calibration and alerts use the level of the model that made it even
   * when a promotion or rollback swaps the model meanwhile. Absent when the forecaster does not
   * report it (test doubles); the current model's ModelInfo.intervalLevel is used then.
   */
  intervalLevel?: number;
  /** One point per horizon, in increasing order. */
  points: ForecastPoint[];
  /** True when the history was shorter than the model window and was padded (see docs/model-contract.md). */
  warmingUp: boolean;
}

export interface ForecastPoint {
  /** Seconds ahead of baseTimeMs. */
  horizonS: number;
  /** Point forecast in %RH. */
  rh: number;
  /** Lower bound of the central prediction interval in %RH. */
  lower: number;
  /** Upper bound of the central prediction interval in %RH. */
  upper: number;
}

/** State of a sensor link (serial port, I2C bus, in-process simulator). */
export type LinkState = 'connecting' | 'up' | 'down';
