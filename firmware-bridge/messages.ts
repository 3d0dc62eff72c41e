/**
 * Wire protocol v1 message types and limits (docs/protocol.md is the normative text).
 * These shapes are also the `message` objects of test-vectors.json, so they stay plain JSON:
 * numbers, strings, booleans, null and arrays, nothing language-specific.
 */

/** Protocol version this code speaks; the frame prefix is `$HC1,`. */
export const PROTOCOL_VERSION = 1;

/** Longest accepted line in bytes, not counting the "\n" or "\r\n" terminator. */
export const MAX_LINE_BYTES = 256;

/** Physical ranges; values outside are rejected as `out_of_range` (matches QualityFlag docs). */
export const RH_MIN = 0;
export const RH_MAX = 100;
export const TEMP_MIN_C = -40;
export const TEMP_MAX_C = 125;
export const SEQ_MAX = 0xffff_ffff;
export const CMD_ID_MAX = 0xffff_ffff;
export const STATUS_MAX = 255;
/** Accepted range of the `interval` command argument, in ms. */
export const INTERVAL_MIN_MS = 100;
export const INTERVAL_MAX_MS = 3_600_000;
/** Accepted range of the `cal` command argument, in %RH. */
export const CAL_MIN_RH = -20;
export const CAL_MAX_RH = 20;
/** A hello lists at most this many sensor ids. */
export const MAX_SENSORS_PER_DEVICE = 8;

/** Status codes of a reading. Codes 4..255 are reserved; decoders treat them as unspecified sensor errors. */
export const STATUS = {
  ok: 0,
  readFailed: 1,
  sensorMissing: 2,
  sensorCrc: 3,
} as const;

/** `R`: one measurement. `rh` is null only when status != 0; `tempC` is null when absent. */
export interface ReadingMessage {
  type: 'R';
  sensorId: string;
  seq: number;
  uptimeMs: number;
  rh: number | null;
  tempC: number | null;
  status: number;
}

/** `H`: sent once after every boot (and in answer to nothing else); carries the new boot id. */
export interface HelloMessage {
  type: 'H';
  firmware: string;
  model: string;
  /** 8 uppercase hex digits, random per boot. */
  bootId: string;
  sensorIds: string[];
}

/** `B`: liveness when no reading is due; `seq` is the seq the next reading will carry. */
export interface HeartbeatMessage {
  type: 'B';
  uptimeMs: number;
  seq: number;
}

/** `E`: a device-side problem report. */
export interface ErrorMessage {
  type: 'E';
  code: string;
  text: string;
}

/** `A`: answer to command `id`. */
export interface AckMessage {
  type: 'A';
  id: number;
  ok: boolean;
  payload: string;
}

export type CommandName = 'interval' | 'info' | 'cal' | 'reboot';

/** `C`: gateway to device. `arg` is ms for interval, %RH offset for cal, null otherwise. */
export interface CommandMessage {
  type: 'C';
  id: number;
  name: CommandName;
  arg: number | null;
}

export type Message = ReadingMessage | HelloMessage | HeartbeatMessage | ErrorMessage | AckMessage | CommandMessage;

/** Why a line was refused; a closed set so counters and dashboards can enumerate it. */
export const REJECT_REASONS = ['checksum', 'too_long', 'unparsable', 'out_of_range', 'unsupported_version'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export interface Rejection {
  reject: RejectReason;
  /** Human-readable detail naming what was wrong (not for branching; branch on `reject`). */
  detail: string;
}

export type DecodeResult = { ok: true; message: Message } | { ok: false; rejection: Rejection };
