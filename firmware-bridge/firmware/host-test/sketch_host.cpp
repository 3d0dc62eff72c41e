// Runs the reference sketch on the host: a simulated millis() advanced 1 ms per loop(), Serial
// to stdout and from argv, and an SHT3x on Wire answering a fixed temperature and humidity.
// Each line the sketch writes is printed as "<millis>\t<line>", empty lines included, so
// firmware.test.ts can decode them with the gateway's own decoder and check their timing.
//
// Usage: sketch_host <seconds> <tempC> <rh%> [<command line sent at 1 s>]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <string>
#include "arduino-stubs.h"

static unsigned long nowMs = 0;
static std::string input;
static std::string line;
static uint16_t rawT = 0;
static uint16_t rawRh = 0;
static uint8_t frame[6];
static int framePos = 0;

SerialT Serial;
WireT Wire;
unsigned long millis() { return nowMs; }
unsigned long micros() { return nowMs * 1000 + 7; }
int analogRead(int) { return rand() & 1023; }
void delay(unsigned long ms) { nowMs += ms; }
void SerialT::begin(unsigned long) {}
int SerialT::available() { return (int)input.size(); }
int SerialT::read() {
  int c = (unsigned char)input[0];
  input.erase(0, 1);
  return c;
}
size_t SerialT::write(const uint8_t* data, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (data[i] != '\n') {
      line += (char)data[i];
      continue;
    }
    printf("%lu\t%s\n", nowMs, line.c_str());
    line.clear();
  }
  return len;
}
void SerialT::flush() {}

// The SHT3x's CRC-8 (polynomial 0x31, init 0xFF) over one 2-byte word.
static uint8_t crc8(const uint8_t* p) {
  uint8_t c = 0xFF;
  for (int i = 0; i < 2; i++) {
    c ^= p[i];
    for (int b = 0; b < 8; b++) c = (c & 0x80) ? (uint8_t)((c << 1) ^ 0x31) : (uint8_t)(c << 1);
  }
  return c;
}
void WireT::begin() {}
void WireT::beginTransmission(uint8_t) {}
size_t WireT::write(uint8_t) { return 1; }
uint8_t WireT::endTransmission() { return 0; }
uint8_t WireT::requestFrom(uint8_t, uint8_t count) {
  frame[0] = rawT >> 8;
  frame[1] = rawT & 0xFF;
  frame[2] = crc8(frame);
  frame[3] = rawRh >> 8;
  frame[4] = rawRh & 0xFF;
  frame[5] = crc8(frame + 3);
  framePos = 0;
  return count;
}
int WireT::read() { return frame[framePos++]; }

void setup();
void loop();

// The SHT3x datasheet's conversions, inverted: T = -45 + 175 * raw / 65535, RH = 100 * raw / 65535.
static uint16_t raw(double value) {
  if (value < 0) return 0;
  if (value > 65535) return 65535;
  return (uint16_t)(value + 0.5);
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s <seconds> <tempC> <rh%%> [<command line sent at 1 s>]\n", argv[0]);
    return 2;
  }
  const unsigned long endMs = (unsigned long)(atof(argv[1]) * 1000);
  rawT = raw((atof(argv[2]) + 45) * 65535 / 175);
  rawRh = raw(atof(argv[3]) * 65535 / 100);
  setup();
  for (; nowMs < endMs; nowMs++) {
    if (argc > 4 && nowMs == 1000) input = std::string(argv[4]) + "\n";
    loop();
  }
  return 0;
}
