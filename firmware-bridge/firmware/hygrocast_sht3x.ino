// hygrocast reference firmware: one humidity sensor on a microcontroller's USB serial, speaking
// hygrocast wire protocol v1 (docs/protocol.md). Sensor: Sensirion SHT3x on I2C (default) or an
// Aosong DHT22 on a GPIO pin (uncomment HC_SENSOR_DHT22; needs the "DHT sensor library" by Adafruit).
// All protocol formatting is in protocol.h/.cpp, which is unit-tested on the host against the same
// test vectors as the gateway (firmware-bridge/firmware/firmware.test.ts).
//
// Build: the Arduino IDE wants the sketch in a folder of the same name, so copy or symlink this
// folder as hygrocast_sht3x/ (README.md next to this file).

// #define HC_SENSOR_DHT22
#define HC_DHT_PIN 2

#include <Arduino.h>

#include "protocol.h"

#ifdef HC_SENSOR_DHT22
#include <DHT.h>
static DHT dht(HC_DHT_PIN, DHT22);
static const char kModel[] = "DHT22";
#else
#include <Wire.h>
static const uint8_t kSht3xAddress = 0x44;
static const char kModel[] = "SHT3x";
#endif

static const char kFirmware[] = "1.0.0";
static const char kSensorId[] = "sensor-1";
static const uint32_t kBaud = 115200;
// A heartbeat after this much silence: the gateway declares the link down after its dataTimeoutMs
// (default 5 s) without a message, whatever the reading interval it asked for.
static const uint32_t kHeartbeatMs = 2000;
// DHT22 cannot be read faster than every 2 s; the gateway may still ask for less (then it gets
// readings every 2 s). SHT3x single-shot with high repeatability takes 15 ms.
static const uint32_t kMinReadMs = 2000;

static uint32_t intervalMs = 1000;
static int32_t calCenti = 0;  // calibration offset in hundredths of %RH
static uint32_t seq = 0;
static char bootId[9];
static uint32_t lastReadMs = 0;
static uint32_t lastSentMs = 0;
static char out[hc::kLineBufferBytes];
static char in[hc::kLineBufferBytes];
static size_t inLen = 0;
static bool inOverflow = false;

void boot();

// Sends the encoded line; an encoder's 0 (nothing encodable) sends nothing and leaves the
// heartbeat's countdown running.
static void send(size_t len) {
  if (len == 0) return;
  Serial.write(reinterpret_cast<const uint8_t*>(out), len);
  lastSentMs = millis();
}

static void makeBootId() {
  // Floating analog input and timing jitter: good enough to tell boots apart, not a secret.
  uint32_t x = micros();
  for (int i = 0; i < 32; i++) x = (x << 1 | (analogRead(A0) & 1)) ^ (x >> 7) ^ micros();
  static const char hex[] = "0123456789ABCDEF";
  for (int i = 0; i < 8; i++) bootId[i] = hex[(x >> (28 - 4 * i)) & 0xF];
  bootId[8] = '\0';
}

#ifndef HC_SENSOR_DHT22
// CRC-8 of the SHT3x datasheet: poly 0x31, init 0xFF (0xBEEF gives 0x92).
static uint8_t sht3xCrc(const uint8_t* data) {
  uint8_t crc = 0xFF;
  for (int i = 0; i < 2; i++) {
    crc ^= data[i];
    for (int b = 0; b < 8; b++) crc = (crc & 0x80) ? (uint8_t)((crc << 1) ^ 0x31) : (uint8_t)(crc << 1);
  }
  return crc;
}
#endif

// Reads the sensor: returns a status code, and on kOk the values in hundredths.
static uint8_t readSensor(int32_t* rhCenti, int32_t* tempCenti) {
#ifdef HC_SENSOR_DHT22
  float rh = dht.readHumidity();
  float t = dht.readTemperature();
  if (isnan(rh) || isnan(t)) return hc::kReadFailed;
  *rhCenti = (int32_t)lroundf(rh * 100);
  *tempCenti = (int32_t)lroundf(t * 100);
  return hc::kOk;
#else
  Wire.beginTransmission(kSht3xAddress);
  Wire.write(0x24);  // single shot, high repeatability, no clock stretching
  Wire.write(0x00);
  if (Wire.endTransmission() != 0) return hc::kSensorMissing;
  delay(16);
  if (Wire.requestFrom(kSht3xAddress, (uint8_t)6) != 6) return hc::kReadFailed;
  uint8_t d[6];
  for (int i = 0; i < 6; i++) d[i] = Wire.read();
  if (sht3xCrc(d) != d[2] || sht3xCrc(d + 3) != d[5]) return hc::kSensorCrc;
  uint32_t rawT = (uint32_t)d[0] << 8 | d[1];
  uint32_t rawRh = (uint32_t)d[3] << 8 | d[4];
  // Datasheet: T = -45 + 175 * raw / 65535, RH = 100 * raw / 65535 (in hundredths, rounded).
  *tempCenti = -4500 + (int32_t)((17500UL * rawT + 32767) / 65535);
  *rhCenti = (int32_t)((10000UL * rawRh + 32767) / 65535);
  return hc::kOk;
#endif
}

static void measure() {
  int32_t rh = 0, t = 0;
  uint8_t status = readSensor(&rh, &t);
  bool ok = status == hc::kOk;
  if (ok) {
    rh += calCenti;
    if (rh < 0) rh = 0;
    if (rh > 10000) rh = 10000;
  }
  // A temperature beyond the protocol's range goes out as missing; the humidity is still good.
  bool tempOk = ok && t >= hc::kTempMinCenti && t <= hc::kTempMaxCenti;
  send(hc::encodeReading(out, sizeof out, kSensorId, seq, millis(), ok, rh, tempOk, t, status));
  seq++;
  if (status == hc::kSensorMissing) send(hc::encodeError(out, sizeof out, "sensor_missing", "no answer from the sensor"));
  else if (!ok) send(hc::encodeError(out, sizeof out, "sensor_read_failed", "sensor read failed"));
}

static void handleCommand(const hc::Command& c) {
  char payload[96];
  switch (c.name) {
    case hc::kInterval:
      intervalMs = (uint32_t)c.arg;
      snprintf(payload, sizeof payload, "interval=%lu", (unsigned long)intervalMs);
      send(hc::encodeAck(out, sizeof out, c.id, true, payload));
      return;
    case hc::kInfo:
      snprintf(payload, sizeof payload, "fw=%s model=%s boot=%s interval=%lu cal=%s%ld.%02ld sensors=%s", kFirmware, kModel, bootId,
               (unsigned long)intervalMs, calCenti < 0 ? "-" : "", labs(calCenti) / 100, labs(calCenti) % 100, kSensorId);
      send(hc::encodeAck(out, sizeof out, c.id, true, payload));
      return;
    case hc::kCal:
      calCenti = c.arg;
      snprintf(payload, sizeof payload, "cal=%s%ld.%02ld", calCenti < 0 ? "-" : "", labs(calCenti) / 100, labs(calCenti) % 100);
      send(hc::encodeAck(out, sizeof out, c.id, true, payload));
      return;
    case hc::kReboot:
      send(hc::encodeAck(out, sizeof out, c.id, true, "rebooting"));
      Serial.flush();
      delay(10);
      boot();
      return;
  }
}

// Collects a line from the gateway; an over-long line is dropped up to its newline.
static void pollSerial() {
  while (Serial.available() > 0) {
    char ch = (char)Serial.read();
    if (ch != '\n') {
      if (inLen < sizeof in - 1) in[inLen++] = ch;
      else inOverflow = true;
      continue;
    }
    hc::Command c;
    if (!inOverflow && inLen > 0 && hc::decodeCommand(in, inLen, &c)) handleCommand(c);
    inLen = 0;
    inOverflow = false;
  }
}

// A software "reboot": new boot id, seq from 0, greeting (what the gateway needs to see).
void boot() {
  makeBootId();
  seq = 0;
  // A reset in the middle of a line leaves half of it on the wire: the newline ends it, so the
  // greeting arrives as a line of its own (an empty line is ignored, docs/protocol.md).
  static const uint8_t kNewline = '\n';
  Serial.write(&kNewline, 1);
  send(hc::encodeHello(out, sizeof out, kFirmware, kModel, bootId, kSensorId));
  lastReadMs = millis();
}

void setup() {
  Serial.begin(kBaud);
#ifdef HC_SENSOR_DHT22
  dht.begin();
#else
  Wire.begin();
#endif
  boot();
}

void loop() {
  pollSerial();
  uint32_t now = millis();
  uint32_t every = intervalMs;
#ifdef HC_SENSOR_DHT22
  if (every < kMinReadMs) every = kMinReadMs;
#endif
  if (now - lastReadMs >= every) {
    lastReadMs = now;
    measure();
  } else if (now - lastSentMs >= kHeartbeatMs) {
    send(hc::encodeHeartbeat(out, sizeof out, now, seq));
  }
}
