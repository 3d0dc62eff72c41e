#include "protocol.h"

namespace hc {
namespace {

constexpr uint32_t kIntervalMinMs = 100;
constexpr uint32_t kIntervalMaxMs = 3600000;
constexpr int32_t kCalMaxCenti = 2000;
constexpr int32_t kRhMaxCenti = 10000;

// Appends to a fixed buffer; once full it stays failed, so callers check once at the end.
struct Writer {
  char* out;
  size_t cap;
  size_t len;
  bool ok;

  void ch(char c) {
    if (len + 1 >= cap) {
      ok = false;
      return;
    }
    out[len++] = c;
  }
  void str(const char* s) {
    while (*s) ch(*s++);
  }
  void u64(uint64_t v) {
    char digits[20];
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v);
    while (n) ch(digits[--n]);
  }
  void centi(int32_t v) {
    if (v < 0) ch('-');
    uint32_t a = v < 0 ? static_cast<uint32_t>(-static_cast<int64_t>(v)) : static_cast<uint32_t>(v);
    u64(a / 100);
    ch('.');
    ch(static_cast<char>('0' + a / 10 % 10));
    ch(static_cast<char>('0' + a % 10));
  }
};

bool matches(const char* s, bool (*allowed)(char), size_t minLen, size_t maxLen) {
  size_t n = 0;
  for (; s[n]; n++)
    if (!allowed(s[n])) return false;
  return n >= minLen && n <= maxLen;
}
bool isIdChar(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; }
bool isNameChar(char c) { return isIdChar(c) || c == '.' || c == '+'; }
bool isCodeChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }
bool isHexUpper(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); }
bool isTextChar(char c) { return c >= 0x20 && c <= 0x7E && c != ',' && c != '$' && c != '*'; }
bool isIdListChar(char c) { return isIdChar(c) || c == ';'; }

const char kHex[] = "0123456789ABCDEF";

// Frames the body in w (which holds "$" + body) as "$body*CRC\n" and NUL-terminates it.
size_t finish(Writer& w) {
  uint16_t crc = crc16(w.out + 1, w.len - 1);
  w.ch('*');
  for (int shift = 12; shift >= 0; shift -= 4) w.ch(kHex[(crc >> shift) & 0xF]);
  w.ch('\n');
  if (!w.ok || w.len - 1 > kMaxLineBytes) {
    if (w.cap) w.out[0] = '\0';
    return 0;
  }
  w.out[w.len] = '\0';
  return w.len;
}

Writer begin(char* out, size_t cap, char type) {
  Writer w{out, cap, 0, cap > 0};
  w.str("$HC1,");
  w.ch(type);
  return w;
}

size_t fail(char* out, size_t cap) {
  if (cap) out[0] = '\0';
  return 0;
}

// Strict unsigned integer: no sign, no leading zero, at most max.
bool parseUint(const char* s, size_t n, uint64_t max, uint64_t* out) {
  if (n == 0 || n > 19 || (n > 1 && s[0] == '0')) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + static_cast<uint64_t>(s[i] - '0');
  }
  if (v > max) return false;
  *out = v;
  return true;
}

// Canonical decimal with exactly 2 decimals ("-1.50", "0.00"; not "-0.00", "01.00", "1.5").
bool parseCenti(const char* s, size_t n, int32_t* out) {
  bool neg = n > 0 && s[0] == '-';
  size_t start = neg ? 1 : 0;
  if (n < start + 4 || s[n - 3] != '.') return false;
  uint64_t whole = 0;
  if (!parseUint(s + start, n - 3 - start, 100000, &whole)) return false;
  char d1 = s[n - 2], d2 = s[n - 1];
  if (d1 < '0' || d1 > '9' || d2 < '0' || d2 > '9') return false;
  int32_t v = static_cast<int32_t>(whole * 100 + static_cast<uint64_t>((d1 - '0') * 10 + (d2 - '0')));
  if (neg && v == 0) return false;
  *out = neg ? -v : v;
  return true;
}

bool equals(const char* s, size_t n, const char* lit) {
  size_t i = 0;
  for (; i < n; i++)
    if (lit[i] != s[i]) return false;
  return lit[i] == '\0';
}

}  // namespace

uint16_t crc16(const char* data, size_t len) {
  uint16_t crc = 0xFFFF;
  for (size_t i = 0; i < len; i++) {
    crc ^= static_cast<uint16_t>(static_cast<uint8_t>(data[i]) << 8);
    for (int bit = 0; bit < 8; bit++) crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021) : static_cast<uint16_t>(crc << 1);
  }
  return crc;
}

size_t encodeReading(char* out, size_t cap, const char* sensorId, uint32_t seq, uint64_t uptimeMs, bool hasRh, int32_t rhCenti,
                     bool hasTemp, int32_t tempCenti, uint8_t status) {
  if (!matches(sensorId, isIdChar, 1, 32) || uptimeMs > 9007199254740991ULL) return fail(out, cap);
  if (hasRh && (rhCenti < 0 || rhCenti > kRhMaxCenti)) return fail(out, cap);
  if (hasTemp && (tempCenti < kTempMinCenti || tempCenti > kTempMaxCenti)) return fail(out, cap);
  if (status == kOk && !hasRh) return fail(out, cap);  // an ok reading always has RH
  Writer w = begin(out, cap, 'R');
  w.ch(',');
  w.str(sensorId);
  w.ch(',');
  w.u64(seq);
  w.ch(',');
  w.u64(uptimeMs);
  w.ch(',');
  if (hasRh) w.centi(rhCenti);
  w.ch(',');
  if (hasTemp) w.centi(tempCenti);
  w.ch(',');
  w.u64(status);
  return finish(w);
}

size_t encodeHello(char* out, size_t cap, const char* firmware, const char* model, const char* bootId, const char* sensorIds) {
  if (!matches(firmware, isNameChar, 1, 32) || !matches(model, isNameChar, 1, 32) || !matches(bootId, isHexUpper, 8, 8)) return fail(out, cap);
  if (!matches(sensorIds, isIdListChar, 1, 8 * 33 - 1)) return fail(out, cap);
  Writer w = begin(out, cap, 'H');
  w.ch(',');
  w.str(firmware);
  w.ch(',');
  w.str(model);
  w.ch(',');
  w.str(bootId);
  w.ch(',');
  w.str(sensorIds);
  return finish(w);
}

size_t encodeHeartbeat(char* out, size_t cap, uint64_t uptimeMs, uint32_t seq) {
  if (uptimeMs > 9007199254740991ULL) return fail(out, cap);
  Writer w = begin(out, cap, 'B');
  w.ch(',');
  w.u64(uptimeMs);
  w.ch(',');
  w.u64(seq);
  return finish(w);
}

size_t encodeError(char* out, size_t cap, const char* code, const char* text) {
  if (!matches(code, isCodeChar, 1, 32) || !matches(text, isTextChar, 0, kMaxLineBytes)) return fail(out, cap);
  Writer w = begin(out, cap, 'E');
  w.ch(',');
  w.str(code);
  w.ch(',');
  w.str(text);
  return finish(w);
}

size_t encodeAck(char* out, size_t cap, uint32_t id, bool ok, const char* payload) {
  if (!matches(payload, isTextChar, 0, kMaxLineBytes)) return fail(out, cap);
  Writer w = begin(out, cap, 'A');
  w.ch(',');
  w.u64(id);
  w.ch(',');
  w.str(ok ? "ok" : "err");
  w.ch(',');
  w.str(payload);
  return finish(w);
}

bool decodeCommand(const char* line, size_t len, Command* out) {
  if (len > 0 && line[len - 1] == '\r') len--;
  if (len > kMaxLineBytes || len < 6 || line[0] != '$' || line[len - 5] != '*') return false;
  for (size_t i = 0; i < len; i++)
    if (line[i] < 0x20 || line[i] > 0x7E) return false;
  const char* body = line + 1;
  size_t bodyLen = len - 6;
  for (size_t i = 0; i < bodyLen; i++)
    if (body[i] == '$' || body[i] == '*') return false;
  uint16_t crc = 0;
  for (size_t i = 0; i < 4; i++) {
    char c = line[len - 4 + i];
    if (!isHexUpper(c)) return false;
    crc = static_cast<uint16_t>((crc << 4) | static_cast<uint16_t>(c <= '9' ? c - '0' : c - 'A' + 10));
  }
  if (crc16(body, bodyLen) != crc) return false;
  // Fields: HC1, C, id, name, arg (exactly 5).
  const char* f[5];
  size_t n[5];
  size_t count = 0;
  size_t start = 0;
  for (size_t i = 0; i <= bodyLen; i++) {
    if (i == bodyLen || body[i] == ',') {
      if (count == 5) return false;
      f[count] = body + start;
      n[count] = i - start;
      count++;
      start = i + 1;
    }
  }
  if (count != 5 || !equals(f[0], n[0], "HC1") || !equals(f[1], n[1], "C")) return false;
  uint64_t id = 0;
  if (!parseUint(f[2], n[2], 0xFFFFFFFFULL, &id)) return false;
  out->id = static_cast<uint32_t>(id);
  out->arg = 0;
  if (equals(f[3], n[3], "interval")) {
    uint64_t ms = 0;
    if (!parseUint(f[4], n[4], kIntervalMaxMs, &ms) || ms < kIntervalMinMs) return false;
    out->name = kInterval;
    out->arg = static_cast<int32_t>(ms);
    return true;
  }
  if (equals(f[3], n[3], "cal")) {
    int32_t centi = 0;
    if (!parseCenti(f[4], n[4], &centi) || centi < -kCalMaxCenti || centi > kCalMaxCenti) return false;
    out->name = kCal;
    out->arg = centi;
    return true;
  }
  if (n[4] != 0) return false;
  if (equals(f[3], n[3], "info")) out->name = kInfo;
  else if (equals(f[3], n[3], "reboot")) out->name = kReboot;
  else return false;
  return true;
}

}  // namespace hc
