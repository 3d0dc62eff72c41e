import { crcHex } from './crc.ts';
import { BridgeError } from './errors.ts';
import {
  CAL_MAX_RH,
  CAL_MIN_RH,
  CMD_ID_MAX,
  INTERVAL_MAX_MS,
  INTERVAL_MIN_MS,
  MAX_LINE_BYTES,
  MAX_SENSORS_PER_DEVICE,
  RH_MAX,
  RH_MIN,
  SEQ_MAX,
  STATUS_MAX,
  TEMP_MAX_C,
  TEMP_MIN_C,
} from './messages.ts';
import type { CommandName, DecodeResult, Message, RejectReason } from './messages.ts';

/**
 * Wire protocol v1: decodeLine and encodeMessage (normative text: docs/protocol.md).
 * Decoding is strict about canonical form (no leading zeros, exactly two decimals, uppercase
 * CRC) so that encodeMessage(decodeLine(line)) reproduces `line` byte for byte; this is what
 * lets a C++ encoder and this decoder be tested against the same vectors.
 */

const FRAME = /^\$([^$*]*)\*([0-9A-F]{4})$/;
const PRINTABLE = /^[\x20-\x7E]*$/;
const VERSION_FIELD = /^HC([0-9]+)$/;
const UINT = /^(0|[1-9][0-9]*)$/;
const DEC2 = /^-?(0|[1-9][0-9]*)\.[0-9]{2}$/;
const SENSOR_ID = /^[A-Za-z0-9_-]{1,32}$/;
const NAME_TOKEN = /^[A-Za-z0-9._+-]{1,32}$/;
const BOOT_ID = /^[0-9A-F]{8}$/;
const ERROR_CODE = /^[a-z0-9_]{1,32}$/;
const TEXT = /^[^,$*]*$/;
const COMMANDS: readonly CommandName[] = ['interval', 'info', 'cal', 'reboot'];

class Reject extends Error {
  constructor(
    readonly reason: RejectReason,
    message: string,
  ) {
    super(message);
  }
}

/** Decodes one line (a trailing "\n" or "\r\n" is allowed). Never throws. */
export function decodeLine(line: string): DecodeResult {
  try {
    return { ok: true, message: decodeOrThrow(stripTerminator(line)) };
  } catch (err) {
    if (err instanceof Reject) return { ok: false, rejection: { reject: err.reason, detail: err.message } };
    throw err;
  }
}

function stripTerminator(line: string): string {
  if (line.endsWith('\r\n')) return line.slice(0, -2);
  if (line.endsWith('\n') || line.endsWith('\r')) return line.slice(0, -1);
  return line;
}

function decodeOrThrow(line: string): Message {
  if (line.length > MAX_LINE_BYTES) throw new Reject('too_long', `line is ${line.length} bytes, limit ${MAX_LINE_BYTES}`);
  if (!PRINTABLE.test(line)) throw new Reject('unparsable', 'line contains a byte outside printable ASCII');
  const frame = FRAME.exec(line);
  if (!frame) throw new Reject('unparsable', 'not a frame "$<body>*<4 uppercase hex CRC>"');
  const body = frame[1] ?? '';
  const expected = crcHex(body);
  if (frame[2] !== expected) throw new Reject('checksum', `CRC ${frame[2]} does not match body CRC ${expected}`);
  const fields = body.split(',');
  const version = VERSION_FIELD.exec(fields[0] ?? '');
  if (!version) throw new Reject('unparsable', `first field "${fields[0]}" is not a version "HC<n>"`);
  if (version[1] !== '1') throw new Reject('unsupported_version', `protocol version ${version[1]} (this decoder speaks 1)`);
  return decodeBody(fields[1] ?? '', fields.slice(2));
}

function decodeBody(type: string, f: string[]): Message {
  switch (type) {
    case 'R':
      return decodeReading(f);
    case 'H':
      return decodeHello(f);
    case 'B':
      expectCount('B', f, 2);
      return { type: 'B', uptimeMs: uint('uptime', f[0], Number.MAX_SAFE_INTEGER), seq: uint('seq', f[1], SEQ_MAX) };
    case 'E':
      expectCount('E', f, 2);
      return { type: 'E', code: token('error code', f[0], ERROR_CODE), text: token('error text', f[1], TEXT) };
    case 'A':
      return decodeAck(f);
    case 'C':
      return decodeCommand(f);
    default:
      throw new Reject('unparsable', `unknown message type "${type}"`);
  }
}

function decodeReading(f: string[]): Message {
  expectCount('R', f, 6);
  const sensorId = token('sensor id', f[0], SENSOR_ID);
  const seq = uint('seq', f[1], SEQ_MAX);
  const uptimeMs = uint('uptime', f[2], Number.MAX_SAFE_INTEGER);
  const status = uint('status', f[5], STATUS_MAX);
  if (status === 0 && f[3] === '') throw new Reject('unparsable', 'RH is empty but status is 0 (ok)');
  const rh = f[3] === '' ? null : dec2('RH', f[3], RH_MIN, RH_MAX);
  const tempC = f[4] === '' ? null : dec2('temperature', f[4], TEMP_MIN_C, TEMP_MAX_C);
  return { type: 'R', sensorId, seq, uptimeMs, rh, tempC, status };
}

function decodeHello(f: string[]): Message {
  expectCount('H', f, 4);
  const ids = (f[3] ?? '').split(';');
  if (ids.length > MAX_SENSORS_PER_DEVICE) throw new Reject('out_of_range', `hello lists ${ids.length} sensors, limit ${MAX_SENSORS_PER_DEVICE}`);
  return {
    type: 'H',
    firmware: token('firmware version', f[0], NAME_TOKEN),
    model: token('sensor model', f[1], NAME_TOKEN),
    bootId: token('boot id', f[2], BOOT_ID),
    sensorIds: ids.map((id) => token('sensor id', id, SENSOR_ID)),
  };
}

function decodeAck(f: string[]): Message {
  expectCount('A', f, 3);
  const id = uint('command id', f[0], CMD_ID_MAX);
  if (f[1] !== 'ok' && f[1] !== 'err') throw new Reject('unparsable', `ack result "${f[1]}" is neither ok nor err`);
  return { type: 'A', id, ok: f[1] === 'ok', payload: token('ack payload', f[2], TEXT) };
}

function decodeCommand(f: string[]): Message {
  expectCount('C', f, 3);
  const id = uint('command id', f[0], CMD_ID_MAX);
  const name = COMMANDS.find((c) => c === f[1]);
  if (!name) throw new Reject('unparsable', `unknown command "${f[1]}"`);
  const raw = f[2] ?? '';
  switch (name) {
    case 'interval': {
      const ms = uint('interval', raw, Number.MAX_SAFE_INTEGER);
      if (ms < INTERVAL_MIN_MS || ms > INTERVAL_MAX_MS) throw new Reject('out_of_range', `interval ${ms} ms outside ${INTERVAL_MIN_MS}..${INTERVAL_MAX_MS}`);
      return { type: 'C', id, name, arg: ms };
    }
    case 'cal':
      return { type: 'C', id, name, arg: dec2('calibration offset', raw, CAL_MIN_RH, CAL_MAX_RH) };
    default:
      if (raw !== '') throw new Reject('unparsable', `command "${name}" takes no argument, got "${raw}"`);
      return { type: 'C', id, name, arg: null };
  }
}

function expectCount(type: string, f: string[], n: number): void {
  if (f.length !== n) throw new Reject('unparsable', `"${type}" needs ${n} fields after the type, got ${f.length}`);
}

function token(what: string, raw: string | undefined, pattern: RegExp): string {
  if (raw === undefined || !pattern.test(raw)) throw new Reject('unparsable', `${what} "${raw ?? ''}" does not match ${pattern.source}`);
  return raw;
}

function uint(what: string, raw: string | undefined, max: number): number {
  if (raw === undefined || !UINT.test(raw)) throw new Reject('unparsable', `${what} "${raw ?? ''}" is not an unsigned integer`);
  const value = Number(raw);
  if (value > max) throw new Reject('out_of_range', `${what} ${raw} exceeds ${max}`);
  return value;
}

function dec2(what: string, raw: string | undefined, min: number, max: number): number {
  if (raw === undefined || !DEC2.test(raw) || raw === '-0.00') throw new Reject('unparsable', `${what} "${raw}" is not a decimal with exactly 2 decimals`);
  const value = Number(raw);
  if (value < min || value > max) throw new Reject('out_of_range', `${what} ${raw} outside ${min}..${max}`);
  return value;
}

/**
 * Encodes a message as one line including the "\n" terminator. Decimal values are rounded to
 * two decimals (the wire resolution). Throws BridgeError EINVALID_MESSAGE naming the bad field
 * when the message cannot be carried by protocol v1, so a bad encoder input never reaches a wire.
 */
export function encodeMessage(msg: Message): string {
  const body = `HC1,${encodeFields(msg).join(',')}`;
  const line = `$${body}*${crcHex(body)}`;
  if (line.length > MAX_LINE_BYTES) invalid(`encoded line is ${line.length} bytes, limit ${MAX_LINE_BYTES}`);
  // The decoder is the single definition of validity: anything it would refuse is refused here.
  const check = decodeLine(line);
  if (!check.ok) invalid(check.rejection.detail);
  return `${line}\n`;
}

function encodeFields(msg: Message): string[] {
  switch (msg.type) {
    case 'R':
      return ['R', msg.sensorId, int(msg.seq, 'seq'), int(msg.uptimeMs, 'uptimeMs'), opt2(msg.rh, 'rh'), opt2(msg.tempC, 'tempC'), int(msg.status, 'status')];
    case 'H':
      return ['H', msg.firmware, msg.model, msg.bootId, msg.sensorIds.join(';')];
    case 'B':
      return ['B', int(msg.uptimeMs, 'uptimeMs'), int(msg.seq, 'seq')];
    case 'E':
      return ['E', msg.code, msg.text];
    case 'A':
      return ['A', int(msg.id, 'id'), msg.ok ? 'ok' : 'err', msg.payload];
    case 'C':
      return ['C', int(msg.id, 'id'), msg.name, msg.name === 'cal' ? opt2(msg.arg, 'arg') : msg.arg === null ? '' : int(msg.arg, 'arg')];
    default:
      return invalid(`unknown message type "${(msg as { type: unknown }).type}"`);
  }
}

function int(value: number, field: string): string {
  if (!Number.isSafeInteger(value) || value < 0) invalid(`${field} ${value} is not a non-negative safe integer`);
  return String(value);
}

function opt2(value: number | null, field: string): string {
  if (value === null) return '';
  if (!Number.isFinite(value)) invalid(`${field} ${value} is not a finite number`);
  const cents = Math.round(value * 100);
  const abs = Math.abs(cents);
  const sign = cents < 0 ? '-' : '';
  return `${sign}${Math.trunc(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

function invalid(message: string): never {
  throw new BridgeError('EINVALID_MESSAGE', `cannot encode: ${message}`);
}
