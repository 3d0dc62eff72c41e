// Declarations-only stand-ins for Arduino.h, Wire.h and DHT.h, so firmware.test.ts can type-check
// the sketch with the host g++ (compile only, never linked or run). Real boards use the real headers.
#pragma once
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#define A0 14
#define DHT22 22
unsigned long millis();
unsigned long micros();
int analogRead(int pin);
void delay(unsigned long ms);
struct SerialT {
  void begin(unsigned long baud);
  int available();
  int read();
  size_t write(const uint8_t* data, size_t len);
  void flush();
};
extern SerialT Serial;
struct WireT {
  void begin();
  void beginTransmission(uint8_t address);
  size_t write(uint8_t byte);
  uint8_t endTransmission();
  uint8_t requestFrom(uint8_t address, uint8_t count);
  int read();
};
extern WireT Wire;
struct DHT {
  DHT(int pin, int type);
  void begin();
  float readHumidity();
  float readTemperature();
};
