import type { EventEmitter } from 'node:events';
import type { LinkState, Reading } from '../types.ts';

/** Events every reading source emits. A source never throws from an event handler path. */
export interface SourceEvents {
  /** A decoded, validated reading (quality flags from the firmware already applied). */
  reading: [reading: Reading];
  /** The link changed state; `detail` says why (e.g. "ENOENT /dev/ttyUSB0", "no data for 5000 ms"). */
  link: [state: LinkState, detail: string];
  /** A line was rejected by the decoder; `reason` is one of the decoder's rejection reasons. */
  rejected: [reason: string, line: string];
  /** A non-fatal problem worth logging (the source keeps running). */
  warning: [message: string];
  /** Readings the device numbered that never arrived (serial protocol seq gaps); sources without sequence numbers never emit it. */
  lost: [count: number, detail: string];
}

/**
 * Where readings come from: a serial link, an I2C sensor, the in-process simulator or MQTT.
 * Contract: start() resolves once the source is running (not necessarily connected: a missing
 * serial device is a 'down' link that keeps retrying, not a failed start). stop() resolves once
 * no further events will be emitted and every handle is closed.
 */
export interface ReadingSource extends EventEmitter<SourceEvents> {
  /** Stable name used in logs, metrics and the link-state topic (e.g. "serial:/dev/ttyUSB0", "sim:sim-1"). */
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Counters of rejected lines by reason since start. */
  rejectedCounts(): Record<string, number>;
}
