import type { Message } from '../messages.ts';

/**
 * Turns firmware-bridge/test-vectors.json into C++ (vectors.inc) for protocol_test.cpp: one call
 * per vector, so the C++ test needs no JSON parser and checks exactly the vectors the TypeScript
 * codec is tested against. Values become integers in hundredths, as the firmware holds them.
 */

interface Vector {
  note: string;
  line: string;
  message?: Message;
  reject?: string;
}

/** A C string literal; every byte outside printable ASCII, and " \ ?, as a 3-digit octal escape. */
export function cString(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    if (code > 0xff) throw new RangeError(`character U+${code.toString(16)} in "${text}" is not a single byte`);
    out += code < 0x20 || code > 0x7e || ch === '"' || ch === '\\' || ch === '?' ? `\\${code.toString(8).padStart(3, '0')}` : ch;
  }
  return `${out}"`;
}

const centi = (v: number | null): string => (v === null ? '0' : String(Math.round(v * 100)));

function call(v: Vector): string {
  const note = cString(v.note);
  const line = cString(v.line);
  const m = v.message;
  if (!m) return `t.rejected(${note}, ${line});`;
  switch (m.type) {
    case 'R':
      return `t.encoded(${note}, ${line}, [](char* b, size_t n) { return hc::encodeReading(b, n, ${cString(m.sensorId)}, ${m.seq}UL, ${m.uptimeMs}ULL, ${m.rh !== null}, ${centi(m.rh)}, ${m.tempC !== null}, ${centi(m.tempC)}, ${m.status}); });`;
    case 'H':
      return `t.encoded(${note}, ${line}, [](char* b, size_t n) { return hc::encodeHello(b, n, ${cString(m.firmware)}, ${cString(m.model)}, ${cString(m.bootId)}, ${cString(m.sensorIds.join(';'))}); });`;
    case 'B':
      return `t.encoded(${note}, ${line}, [](char* b, size_t n) { return hc::encodeHeartbeat(b, n, ${m.uptimeMs}ULL, ${m.seq}UL); });`;
    case 'E':
      return `t.encoded(${note}, ${line}, [](char* b, size_t n) { return hc::encodeError(b, n, ${cString(m.code)}, ${cString(m.text)}); });`;
    case 'A':
      return `t.encoded(${note}, ${line}, [](char* b, size_t n) { return hc::encodeAck(b, n, ${m.id}UL, ${m.ok}, ${cString(m.payload)}); });`;
    case 'C': {
      const name = { interval: 'kInterval', info: 'kInfo', cal: 'kCal', reboot: 'kReboot' }[m.name];
      const arg = m.name === 'cal' ? centi(m.arg) : String(m.arg ?? 0);
      return `t.command(${note}, ${line}, ${m.id}UL, hc::${name}, ${arg});`;
    }
  }
}

/** The whole vectors.inc text for the parsed test-vectors.json. */
export function vectorsHeader(json: { crc: { input: string; check: string }; vectors: Vector[] }): string {
  const lines = [
    '// Generated from firmware-bridge/test-vectors.json by firmware-bridge/firmware/vectors-header.ts. Do not edit.',
    `#define HC_CRC_CHECK_INPUT ${cString(json.crc.input)}`,
    `#define HC_CRC_CHECK_VALUE 0x${json.crc.check}`,
    `#define HC_VECTOR_COUNT ${json.vectors.length}`,
    'inline void runVectors(Tester& t) {',
    ...json.vectors.map((v) => `  ${call(v)}`),
    '}',
  ];
  return `${lines.join('\n')}\n`;
}
