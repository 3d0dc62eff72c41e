// hygrocast wire protocol v1: encoder, command decoder and CRC for firmware (docs/protocol.md).
// Plain C++ (no Arduino headers, no heap, no printf, no floating point) so the same file runs on an
// AVR and on the host, where protocol_test.cpp checks it against firmware-bridge/test-vectors.json.
// Values are integers in hundredths (centi-%RH, centi-degrees C): the wire has exactly 2 decimals,
// and integer formatting cannot round differently from the TypeScript codec.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace hc {

// Longest line without its "\n" terminator; an output buffer needs kMaxLineBytes + 2 bytes.
constexpr size_t kMaxLineBytes = 256;
constexpr size_t kLineBufferBytes = kMaxLineBytes + 2;

// CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, xorout 0; check("123456789") = 0x29B1.
uint16_t crc16(const char* data, size_t len);

// Temperature range of the wire protocol, in hundredths of a degree C (TEMP_MIN/TEMP_MAX in
// firmware-bridge/messages.ts). A sensor may read beyond it (the SHT3x spans -45..130 C).
constexpr int32_t kTempMinCenti = -4000;
constexpr int32_t kTempMaxCenti = 12500;

// Status codes of a reading (same numbers as STATUS in firmware-bridge/messages.ts).
enum Status : uint8_t { kOk = 0, kReadFailed = 1, kSensorMissing = 2, kSensorCrc = 3 };

// Each encoder writes one NUL-terminated line ending in "\n" into out (capacity cap bytes) and
// returns its length without the NUL, or 0 when it does not fit or a field is not encodable
// (then out holds an empty string and nothing must be sent).
size_t encodeReading(char* out, size_t cap, const char* sensorId, uint32_t seq, uint64_t uptimeMs, bool hasRh, int32_t rhCenti,
                     bool hasTemp, int32_t tempCenti, uint8_t status);
// sensorIds: the ids joined with ';'.
size_t encodeHello(char* out, size_t cap, const char* firmware, const char* model, const char* bootId, const char* sensorIds);
size_t encodeHeartbeat(char* out, size_t cap, uint64_t uptimeMs, uint32_t seq);
size_t encodeError(char* out, size_t cap, const char* code, const char* text);
size_t encodeAck(char* out, size_t cap, uint32_t id, bool ok, const char* payload);

enum CommandName : uint8_t { kInterval, kInfo, kCal, kReboot };

struct Command {
  uint32_t id;
  CommandName name;
  // interval: milliseconds (100..3600000); cal: centi-%RH (-2000..2000); info, reboot: 0.
  int32_t arg;
};

// Decodes one received line (without "\n"; a trailing "\r" is allowed). Returns false for anything
// that is not a valid v1 command: bad frame or CRC, other version or type, bad or out-of-range field.
bool decodeCommand(const char* line, size_t len, Command* out);

}  // namespace hc
