import { z } from 'zod';
import { RH_MAX, RH_MIN } from '../../firmware-bridge/messages.ts';
import { DEFAULT_BAND_MAX_SCALE, DEFAULT_BAND_RATE } from '../../models/band-calibration.ts';
import { sensorTopicProblem } from '../broker/topic-source.ts';
import { ALERT_ID, MAX_ALERT_RULES } from '../broker/topics.ts';
import { duplicateAlertId } from '../forecast/alerts.ts';
import { DEFAULT_SPIKE_THRESHOLD_RH, DEFAULT_STALE_AFTER_MS, DEFAULT_STUCK_WINDOW_MS } from '../quality.ts';

/**
 * The gateway's whole configuration, validated once before anything starts. Every object is
 * strict: an unknown key is an error, never silently ignored. Units are in the key names.
 * Each key's `.describe()` text is its documentation; docs/configuration.md and the exported
 * JSON Schema (config.schema.json) are generated from this file.
 */

const port = z.int().min(0).max(65535);
/** MQTT: a topic filter (wildcards allowed) in an ACL, a prefix of plain topic levels, a user. */
const mqttFilter = z.string().regex(/^(#|(\+|[^#+/]*)(\/(\+|[^#+/]*))*(\/#)?)$/, 'an MQTT topic filter: + only as a whole level, # only as the last level');
const mqttTopicPrefix = z.string().regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, 'topic levels of A-Z, a-z, 0-9, _ and - with no wildcards');
const mqttAcl = z.strictObject({
  publish: z.array(mqttFilter).max(100).default([]).describe('Topic filters the client may publish to.'),
  subscribe: z.array(mqttFilter).max(100).default([]).describe('Topic filters the client may subscribe to.'),
});
const mqttUser = mqttAcl.extend({
  username: z.string().min(1).max(64),
  passwordHash: z.string().regex(/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/, 'a hash scrypt$N$r$p$salt$hash printed by "tsx gateway/broker/hash-password.ts" (never a plain password)'),
});
/** A field of a JSON payload: names of A-Z, a-z, 0-9, _ and -, joined by dots for nested objects. */
const jsonPath = z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'a JSON field name, with dots for nested objects (AM2301.Humidity)');
const sensorId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,32}$/, 'sensor ids are 1-32 characters of A-Z, a-z, 0-9, _ and -')
  .refine((id) => id !== 'bridge' && id !== 'ingest', 'sensor ids "bridge" and "ingest" are reserved MQTT topics');

const simSource = z.strictObject({
  type: z.literal('sim').describe('In-process simulated sensors speaking the wire protocol (device-sim/).'),
  sensors: z.array(sensorId).min(1).max(32).default(['sim-1', 'sim-2']).describe('Sensor ids, one simulated device each.'),
  intervalMs: z.int().min(100).max(3_600_000).default(1000).describe('Sampling interval of each simulated sensor, in ms.'),
  seed: z.int().min(0).default(1).describe('Seed of the simulated signal; the same seed gives the same signal.'),
});

const serialSource = z.strictObject({
  type: z.literal('serial').describe('A microcontroller speaking protocol v1 on a serial port.'),
  path: z.string().min(1).describe('Serial device path; prefer a stable /dev/serial/by-id/... name.'),
  baudRate: z.int().min(1200).max(4_000_000).default(115200).describe('Baud rate of the serial link.'),
  dataTimeoutMs: z.int().min(500).max(600_000).default(5000).describe('The link is considered down when no line arrives for this long, in ms.'),
  commandTimeoutMs: z.int().min(100).max(60_000).default(2000).describe('A command without an acknowledgement fails after this long, in ms.'),
});

const i2cSource = z.strictObject({
  type: z.literal('i2c').describe('A sensor wired to the Pi\'s I2C bus (docs/i2c.md).'),
  bus: z.int().min(0).max(255).default(1).describe('I2C bus number (/dev/i2c-N); 1 on a Raspberry Pi.'),
  driver: z.enum(['sht3x', 'bme280']).describe('Sensor driver.'),
  address: z.int().min(0x03).max(0x77).optional().describe('7-bit I2C address; default 0x44 for sht3x, 0x76 for bme280.'),
  sensorId: sensorId.describe('Id of this sensor in topics, the store and the dashboard.'),
  intervalMs: z.int().min(1000).max(3_600_000).default(10_000).describe('Polling interval, in ms.'),
});

export const sourceSchema = z.discriminatedUnion('type', [simSource, serialSource, i2cSource]);

export const configSchema = z.strictObject({
  gateway: z
    .strictObject({
      id: z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,64}$/, 'gateway ids are 1-64 characters of A-Z, a-z, 0-9, _ and -')
        .default('hygrocast')
        .describe('Name of this gateway in logs, the dashboard and Home Assistant.'),
    })
    .prefault({})
    .describe('Identity of this gateway.'),
  dataDir: z.string().min(1).default('./data').describe('Folder for the SQLite database (created if missing).'),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info').describe('Lowest log level written (JSON lines on stdout).'),
    })
    .prefault({})
    .describe('Logging.'),
  sources: z
    .array(sourceSchema)
    .max(16)
    .default([{ type: 'sim', sensors: ['sim-1', 'sim-2'], intervalMs: 1000, seed: 1 }])
    .describe('Where readings come from. Default: two simulated sensors at one reading per second.'),
  store: z
    .strictObject({
      flushIntervalMs: z
        .int()
        .min(50)
        .max(60_000)
        .default(1000)
        .describe('Buffered readings are written in one transaction this often, in ms; at most this much is at risk on a power cut. Longer intervals write far less to an SD card (docs/storage.md: 4.1 kB per reading at 1 s, 1.1 kB at 10 s, 0.55 kB at 30 s for 4 sensors at 1 Hz).'),
      maxPendingReadings: z.int().min(100).max(1_000_000).default(10_000).describe('Bound of the write buffer; reaching it forces a flush.'),
      retentionBytes: z
        .int()
        .min(1_048_576)
        .default(536_870_912)
        .describe('Byte budget of the database (512 MiB by default, small next to an 8 GB SD card). Reaching it thins old synced data to 1-min then 10-min means, then drops the oldest synced, then the oldest unsynced readings (docs/storage.md).'),
      syncEnabled: z.boolean().default(false).describe('True when an uplink delivers readings to a central server; while false nothing waits for sync and every reading counts as synced for eviction.'),
    })
    .prefault({})
    .describe('The SQLite reading store.'),
  quality: z
    .strictObject({
      stuckWindowMs: z
        .int()
        .min(60_000)
        .max(604_800_000)
        .default(DEFAULT_STUCK_WINDOW_MS)
        .describe("A reading is flagged stuck when its sensor has repeated exactly the same RH for longer than this (and in at least 4 readings), in ms; while its newest reading is stuck, a sensor gets no forecast (stuck_sensor). The default 30 min suits 0.01-0.1 %RH sensors, whose noise moves the value within minutes; raise it for a sensor with 1 %RH steps (DHT11) or one that reports only on change."),
      spikeThresholdRh: z.number().min(1).max(100).default(DEFAULT_SPIKE_THRESHOLD_RH).describe('A reading further than this from the last reading that was not a spike is flagged spike (not forecast from), in %RH; 3 agreeing readings in a row are a real level change. Raise it for a sensor that reports rarely.'),
      staleAfterMs: z.int().min(1000).max(86_400_000).default(DEFAULT_STALE_AFTER_MS).describe('A reading whose own time is older than this when it arrives is flagged stale (kept and forecast from, but marked), in ms.'),
    })
    .prefault({})
    .describe('Quality flags set on every reading (docs/serial.md).'),
  clock: z
    .strictObject({
      trusted: z
        .enum(['auto', 'always', 'never'])
        .default('auto')
        .describe('When the wall clock is trusted: auto = once NTP is synchronised (timedatectl), or, where that cannot be asked, once the clock is past the build date; always = from boot (an RTC); never. Readings taken before are re-timed from device uptime (docs/storage.md).'),
    })
    .prefault({})
    .describe('Wall-clock trust (a Pi has no real-time clock).'),
  mqtt: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Run the embedded MQTT broker.'),
      host: z.string().min(1).default('0.0.0.0').describe('Address the broker listens on.'),
      port: port.default(1883).describe('TCP port of the broker (MQTT 3.1.1).'),
      topicPrefix: z
        .string()
        .regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, 'topic prefix must be topic levels of A-Z, a-z, 0-9, _ and - with no wildcards')
        .default('hygrocast')
        .describe('First topic level(s) of everything the gateway publishes.'),
      maxClients: z.int().min(1).max(10_000).default(100).describe('Connections beyond this are refused.'),
      users: z.array(mqttUser).max(1000).default([]).describe('MQTT users; passwords are scrypt hashes (tsx gateway/broker/hash-password.ts).'),
      allowAnonymous: z.boolean().default(true).describe('Clients without a user name may connect, with the anonymous ACL (default: read-only).'),
      anonymous: mqttAcl.optional().describe('ACL of anonymous clients; default subscribe <prefix>/# and <discovery prefix>/#, publish only the HA birth topic.'),
      discovery: z
        .strictObject({
          enabled: z.boolean().default(true).describe('Publish Home Assistant MQTT discovery configs.'),
          prefix: mqttTopicPrefix.default('homeassistant').describe('Home Assistant discovery prefix.'),
          birthTopic: z.string().min(1).optional().describe("HA's birth topic; default <discovery prefix>/status."),
        })
        .prefault({})
        .describe('Home Assistant MQTT discovery.'),
      tls: z
        .strictObject({
          port: port.describe('TLS port (8883 is the MQTT-over-TLS port).'),
          certFile: z.string().min(1).describe('PEM certificate (chain) file.'),
          keyFile: z.string().min(1).describe('PEM private key file.'),
        })
        .optional()
        .describe('Optional TLS listener on the same host.'),
      sensorTopics: z
        .array(
          z.strictObject({
            topic: z
              .string()
              .superRefine((t, ctx) => {
                const problem = sensorTopicProblem(t);
                if (problem) ctx.addIssue({ code: 'custom', message: `a sensor topic filter needs ${problem}` });
              })
              .describe('Topic filter with one + level, which is the sensor id: zigbee2mqtt/+ for Zigbee2MQTT, tele/+/SENSOR for Tasmota.'),
            humidity: z
              .union([jsonPath, z.literal('')])
              .default('humidity')
              .describe("Field of the JSON payload holding %RH; dots for nested objects (AM2301.Humidity); '' when the payload is the bare number (ESPHome's <topic_prefix>/sensor/<name>/state). A message without it is skipped (counted no_humidity)."),
            temperature: z.union([jsonPath, z.literal('')]).default('temperature').describe("Field holding °C, or '' for none."),
          }),
        )
        .max(16)
        .default([])
        .describe('Sensors that publish JSON on their own topics on this broker (Zigbee2MQTT, Tasmota, ESPHome): each message with the humidity field is a reading of the sensor the + level names; other fields are ignored (docs/mqtt.md). Give the publishing client a user with publish rights on those topics.'),
    })
    .prefault({})
    .superRefine((m, ctx) => {
      if (!m.enabled && m.sensorTopics.length > 0) ctx.addIssue({ code: 'custom', path: ['sensorTopics'], message: 'sensor topics are read from the embedded broker: they need mqtt.enabled' });
      const own = new Set([m.topicPrefix.split('/')[0], m.discovery.prefix.split('/')[0]]);
      m.sensorTopics.forEach((s, i) => {
        const first = s.topic.split('/')[0] ?? '';
        if (own.has(first)) ctx.addIssue({ code: 'custom', path: ['sensorTopics', i, 'topic'], message: `"${first}/..." is the gateway's own topic tree (topicPrefix or discovery.prefix); use <prefix>/ingest/<sensor> for hygrocast's own payload` });
        if (m.sensorTopics.findIndex((o) => o.topic === s.topic) !== i) ctx.addIssue({ code: 'custom', path: ['sensorTopics', i, 'topic'], message: `"${s.topic}" is listed twice` });
      });
    })
    .describe('The embedded MQTT broker.'),
  dashboard: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Serve the dashboard and HTTP API.'),
      host: z.string().min(1).default('0.0.0.0').describe('Address the dashboard listens on.'),
      port: port.default(8080).describe('TCP port of the dashboard (HTTP and WebSocket).'),
    })
    .prefault({})
    .describe('The live dashboard.'),
  forecast: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Forecast each sensor with the ONNX model.'),
      modelPath: z.string().min(1).default('models/hygrocast-rh.onnx').describe('The ONNX model file (relative paths are resolved against the hygrocast install folder).'),
      checkIntervalMs: z.int().min(100).max(3_600_000).default(5000).describe('How often the gateway checks whether a sensor has a new completed step to forecast from, in ms.'),
      staleAfterSteps: z
        .int()
        .min(1)
        .max(24)
        .default(2)
        .describe("No forecast (reason stale) when a sensor's newest usable reading is older than this many model steps (2 = 20 min with the shipped 10-minute model). Raise it for sensors that report less often, e.g. 4 for every 30 min; the model's max_fill_steps still bounds the missing steps at the end of its window (too_many_gaps)."),
      bandCalibration: z
        .strictObject({
          enabled: z.boolean().default(true).describe("Calibrate the published interval online: each half of the model's band is scaled per sensor and horizon so that it is missed (1 - interval_level) / 2 of the time on this site (models/band-calibration.ts)."),
          rate: z.number().min(0.001).max(0.5).default(DEFAULT_BAND_RATE).describe('Step of the log-scale update per scored forecast at a one-step horizon (a horizon of h steps uses rate / sqrt(h)); faster follows change sooner but swings wider.'),
          maxScale: z.number().min(1).max(100).default(DEFAULT_BAND_MAX_SCALE).describe("Largest factor a half-band may be widened by (and narrowed by its inverse) relative to the model's."),
        })
        .prefault({})
        .describe("Online calibration of the forecast interval against the truths scored on this gateway."),
      alerts: z
        .array(
          z
            .strictObject({
              id: z
                .string()
                .regex(ALERT_ID, 'alert ids are 1-32 characters of A-Z, a-z, 0-9, _ and -')
                .optional()
                .describe('Names the alert: its MQTT topic <prefix>/<sensor>/alert/<id> and Home Assistant entity. Default <direction>-<threshold> (e.g. above-70, below-30_5); set it to keep the entity when the threshold changes. A rule with an id has one direction.'),
              sensor: z.string().min(1).default('*').describe('Sensor id the threshold applies to, or "*" for every sensor.'),
              above: z.number().min(RH_MIN).max(RH_MAX).optional().describe('Alert when the forecast interval reaches this %RH or more.'),
              below: z.number().min(RH_MIN).max(RH_MAX).optional().describe('Alert when the forecast interval reaches this %RH or less.'),
              hysteresisRh: z.number().min(0).max(50).default(2).describe('The alert clears once the interval is this many %RH back on the safe side.'),
            })
            .refine((a) => a.above !== undefined || a.below !== undefined, 'an alert needs "above" or "below" (or both)')
            .refine((a) => a.id === undefined || a.above === undefined || a.below === undefined, {
              message: 'an alert with an "id" has one direction: write the "above" and the "below" threshold as two rules, each with its own id',
              path: ['id'],
            }),
        )
        .max(MAX_ALERT_RULES)
        .default([])
        .superRefine((rules, ctx) => {
          const dup = duplicateAlertId(rules);
          if (dup) ctx.addIssue({ code: 'custom', path: [dup.index, 'id'], message: `alert "${dup.id}" is also named by forecast.alerts[${dup.other}] for the same sensor: give one of them another "id"` });
        })
        .describe(`Humidity thresholds raised from forecasts (gateway/forecast/alerts.ts); at most ${MAX_ALERT_RULES}. Each rule and direction is one alert, with its own MQTT topic and Home Assistant entity; alert names must be unique per sensor.`),
    })
    .prefault({})
    .describe('Local forecasting.'),
  sync: z
    .strictObject({
      enabled: z.boolean().default(false).describe('Send stored readings to the central server (gateway/sync/); the store then keeps readings unsynced until the server confirms them.'),
      url: z.string().regex(/^https?:\/\/[^/\s]+/, 'must be an http:// or https:// URL').default('http://127.0.0.1:8090').describe('Base URL of the central server.'),
      token: z.string().default('').describe('This gateway\'s token from `POST /v1/gateways` on the central server; required when enabled (prefer the environment variable).'),
      batchSize: z.int().min(1).max(10_000).default(2000).describe('Readings per compressed batch (bounds one request), in readings.'),
      idlePollMs: z.int().min(10).max(3_600_000).default(1000).describe('How often to look for new readings once the backlog is drained, in ms.'),
      backoffBaseMs: z.int().min(1).max(60_000).default(250).describe('First retry delay ceiling after a failure, in ms; doubles per failure, with full jitter.'),
      backoffCapMs: z.int().min(100).max(3_600_000).default(60_000).describe('Largest retry delay, in ms.'),
      probeIntervalMs: z.int().min(100).max(60_000).default(1000).describe('While the server is unreachable, how often a TCP connect probes it, in ms; sync resumes at the first successful probe.'),
      requestTimeoutMs: z.int().min(100).max(600_000).default(15_000).describe('Time to wait for the server to answer a batch, in ms.'),
      maxBytesPerSecond: z.int().min(0).default(0).describe('Bandwidth cap on the wire (compressed bytes per second); 0 for none.'),
      modelPublicKeyPath: z.string().default('').describe('The central server\'s Ed25519 public key (PEM, from `hygrocast central keygen`), pinned; when set, the gateway pulls production models, verifies, shadows and promotes them (previous models kept in <dataDir>/models). Empty: no model updates.'),
      modelCheckIntervalMs: z.int().min(1000).max(86_400_000).default(3_600_000).describe('How often the gateway asks the central server for a new production model (a conditional GET), in ms.'),
      accuracyReportIntervalMs: z.int().min(1000).max(86_400_000).default(3_600_000).describe('How often the gateway posts its rolling forecast error (MAE, count, interval coverage and band scale per sensor, model and horizon) to the central server, in ms; a report that fails is retried at the next interval (docs/forecast.md).'),
    })
    .prefault({})
    .refine((s) => !s.enabled || s.token.length >= 16, { message: 'sync.enabled needs sync.token (HYGROCAST_SYNC_TOKEN)', path: ['token'] })
    .describe('Uplink of readings to the central server.'),
});

/** Configuration as written by the user (defaults not yet applied). */
export type ConfigInput = z.input<typeof configSchema>;
/** Validated configuration with every default applied. */
export type Config = z.output<typeof configSchema>;
export type SourceConfig = z.output<typeof sourceSchema>;
