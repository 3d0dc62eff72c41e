// Host test of the firmware protocol code against firmware-bridge/test-vectors.json (via the
// generated vectors.inc). Build: g++ -std=c++17 -Wall -Werror -I<dir of vectors.inc> protocol.cpp protocol_test.cpp
// Prints one line per failure and "N passed, M failed"; exit status 1 when anything failed.
#include <cstdio>
#include <cstring>

#include "../protocol.h"

struct Tester {
  int passed = 0;
  int failed = 0;

  void result(bool ok, const char* note, const char* detail) {
    if (ok) {
      passed++;
      return;
    }
    failed++;
    std::printf("FAIL %s: %s\n", note, detail);
  }

  // The firmware's encoder must produce exactly the vector's line plus "\n".
  template <typename F>
  void encoded(const char* note, const char* line, F encode) {
    char buf[hc::kLineBufferBytes];
    size_t len = encode(buf, sizeof buf);
    char want[hc::kLineBufferBytes + 1];
    std::snprintf(want, sizeof want, "%s\n", line);
    char detail[2 * hc::kLineBufferBytes + 32];
    std::snprintf(detail, sizeof detail, "got [%s] want [%s]", buf, want);
    result(len == std::strlen(want) && std::strcmp(buf, want) == 0, note, detail);
    // A buffer one byte too small must fail cleanly, never write a partial line.
    char small[hc::kLineBufferBytes];
    size_t n = encode(small, std::strlen(want));
    result(n == 0 && small[0] == '\0', note, "a too-small buffer was not refused");
  }

  void command(const char* note, const char* line, unsigned long id, hc::CommandName name, long arg) {
    hc::Command c{};
    bool ok = hc::decodeCommand(line, std::strlen(line), &c);
    char detail[128];
    std::snprintf(detail, sizeof detail, "decoded=%d id=%lu name=%d arg=%ld", ok, static_cast<unsigned long>(c.id), static_cast<int>(c.name), static_cast<long>(c.arg));
    result(ok && c.id == id && c.name == name && c.arg == arg, note, detail);
  }

  // A line the protocol refuses must never be taken for a command.
  void rejected(const char* note, const char* line) {
    hc::Command c{};
    result(!hc::decodeCommand(line, std::strlen(line), &c), note, "a refused line decoded as a command");
  }
};

#include "vectors.inc"

int main() {
  Tester t;
  const char* check = HC_CRC_CHECK_INPUT;
  t.result(hc::crc16(check, std::strlen(check)) == HC_CRC_CHECK_VALUE, "CRC-16/CCITT-FALSE check value", "crc16(\"123456789\") != check");
  runVectors(t);
  std::printf("%d vectors, %d passed, %d failed\n", HC_VECTOR_COUNT, t.passed, t.failed);
  return t.failed == 0 ? 0 : 1;
}
