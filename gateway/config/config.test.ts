import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, envNameFor, leafPaths, loadConfig } from './load.ts';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../..');

function writeConfig(text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'hygrocast-config-')), 'config.yaml');
  writeFileSync(file, text);
  return file;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('runs with embedded defaults: two simulated sensors at 1 Hz, broker on 1883, dashboard on 8080', () => {
    const config = loadConfig({ env: {} });
    expect(config.sources).toEqual([{ type: 'sim', sensors: ['sim-1', 'sim-2'], intervalMs: 1000, seed: 1 }]);
    expect(config.mqtt.port).toBe(1883);
    expect(config.dashboard.port).toBe(8080);
    expect(config.store.flushIntervalMs).toBe(1000);
  });

  it('merges a YAML file over the defaults', () => {
    const file = writeConfig('mqtt:\n  port: 1884\nsources:\n  - type: serial\n    path: /dev/ttyUSB0\n');
    const config = loadConfig({ file, env: {} });
    expect(config.mqtt.port).toBe(1884);
    expect(config.mqtt.topicPrefix).toBe('hygrocast');
    expect(config.sources).toEqual([{ type: 'serial', path: '/dev/ttyUSB0', baudRate: 115200, dataTimeoutMs: 5000, commandTimeoutMs: 2000 }]);
  });

  it('lists every error at once: unknown keys at any depth, wrong types, out-of-range values', () => {
    const file = writeConfig('mqtt:\n  port: "abc"\n  colour: red\nstore:\n  flushIntervalMs: 120000\nsources:\n  - type: serial\nbogus: 1\n');
    const problems = problemsOf(() => loadConfig({ file, env: {} }));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^mqtt\.port: .*expected number/),
        'mqtt.colour: unknown key',
        'bogus: unknown key',
        expect.stringMatching(/^store\.flushIntervalMs: .*<=60000/),
        expect.stringMatching(/^sources\.0\.path: /),
      ]),
    );
    expect(problems).toHaveLength(5);
  });

  it('rejects reserved and malformed sensor ids', () => {
    const file = writeConfig('sources:\n  - type: sim\n    sensors: [bridge, "bad id"]\n');
    const problems = problemsOf(() => loadConfig({ file, env: {} }));
    expect(problems.join('\n')).toMatch(/sources\.0\.sensors\.0: .*reserved/);
    expect(problems.join('\n')).toMatch(/sources\.0\.sensors\.1: sensor ids are/);
  });

  it('names each alert once per sensor: ids are topic levels, one direction each, and unique per sensor', () => {
    const ok = writeConfig('forecast:\n  alerts:\n    - { sensor: "*", above: 70, below: 30 }\n    - { sensor: cellar, id: damp, above: 70 }\n');
    expect(loadConfig({ file: ok, env: {} }).forecast.alerts.map((a) => a.id)).toEqual([undefined, 'damp']);
    const bad = writeConfig(
      'forecast:\n  alerts:\n    - { sensor: "*", above: 70 }\n    - { sensor: cellar, above: 70, hysteresisRh: 1 }\n    - { id: "a/b", above: 50 }\n    - { id: both, above: 80, below: 20 }\n',
    );
    const problems = problemsOf(() => loadConfig({ file: bad, env: {} })).join('\n');
    expect(problems).toMatch(/forecast\.alerts\.2\.id: alert ids are 1-32 characters/);
    expect(problems).toMatch(/forecast\.alerts\.3\.id: an alert with an "id" has one direction/);
    const dup = writeConfig('forecast:\n  alerts:\n    - { sensor: "*", above: 70 }\n    - { sensor: cellar, above: 70, hysteresisRh: 1 }\n');
    expect(problemsOf(() => loadConfig({ file: dup, env: {} }))).toEqual(['forecast.alerts.1.id: alert "above-70" is also named by forecast.alerts[0] for the same sensor: give one of them another "id"']);
  });

  it('takes environment overrides for every scalar key and refuses unknown HYGROCAST_ variables', () => {
    const config = loadConfig({ env: { HYGROCAST_MQTT_PORT: '1999', HYGROCAST_DASHBOARD_ENABLED: 'false', HYGROCAST_DATA_DIR: '/tmp/x' } });
    expect(config.mqtt.port).toBe(1999);
    expect(config.dashboard.enabled).toBe(false);
    expect(config.dataDir).toBe('/tmp/x');
    expect(leafPaths().map(envNameFor)).toContain('HYGROCAST_STORE_FLUSH_INTERVAL_MS');
    const problems = problemsOf(() => loadConfig({ env: { HYGROCAST_MQTT_PROT: '1' } }));
    expect(problems[0]).toMatch(/^HYGROCAST_MQTT_PROT: unknown environment override/);
  });

  it('reads an environment value by its key\'s type: strings as written, booleans and numbers checked, naming the variable', () => {
    // Strings are taken literally (YAML would make "" null, cut at " #", read "::" as a map and 0123 as a number).
    const config = loadConfig({ env: { HYGROCAST_SYNC_TOKEN: 'abcdefgh #ijkl', HYGROCAST_MQTT_HOST: '::', HYGROCAST_GATEWAY_ID: '0123', HYGROCAST_SYNC_MODEL_PUBLIC_KEY_PATH: '', HYGROCAST_MQTT_ENABLED: 'no', HYGROCAST_DASHBOARD_ENABLED: 'ON' } });
    expect(config.sync.token).toBe('abcdefgh #ijkl');
    expect(config.mqtt.host).toBe('::');
    expect(config.gateway.id).toBe('0123');
    expect(config.sync.modelPublicKeyPath).toBe('');
    expect([config.mqtt.enabled, config.dashboard.enabled]).toEqual([false, true]);
    // Keys without a default have their variable too (documented in docs/configuration.md).
    expect(loadConfig({ env: { HYGROCAST_MQTT_DISCOVERY_BIRTH_TOPIC: 'ha/status' } }).mqtt.discovery.birthTopic).toBe('ha/status');
    expect(leafPaths().map(envNameFor)).toEqual(expect.arrayContaining(['HYGROCAST_MQTT_TLS_PORT', 'HYGROCAST_MQTT_TLS_CERT_FILE', 'HYGROCAST_MQTT_TLS_KEY_FILE']));
    // The test suite's own variables are not overrides.
    expect(() => loadConfig({ env: { HYGROCAST_TEST_I2C_BUS: '1' } })).not.toThrow();
    const err = (() => {
      try {
        loadConfig({ env: { HYGROCAST_MQTT_PORT: 'abc', HYGROCAST_DASHBOARD_ENABLED: 'maybe', HYGROCAST_MQTT_TOPIC_PREFIX: '@x' } });
      } catch (e) {
        return e as ConfigError;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err?.problems).toEqual(
      expect.arrayContaining([
        'HYGROCAST_MQTT_PORT="abc" (mqtt.port): must be a number',
        'HYGROCAST_DASHBOARD_ENABLED="maybe" (dashboard.enabled): must be true or false (also yes/no, on/off, 1/0)',
      ]),
    );
    expect(err?.message).toMatch(/^invalid configuration \(embedded defaults and HYGROCAST_MQTT_TOPIC_PREFIX\)/);
  });

  it('takes the quality thresholds and the forecast staleness per site, within bounds', () => {
    const defaults = loadConfig({ env: {} });
    expect(defaults.quality).toEqual({ stuckWindowMs: 1_800_000, spikeThresholdRh: 15, staleAfterMs: 60_000 });
    expect(defaults.forecast.staleAfterSteps).toBe(2);
    const file = writeConfig('quality:\n  stuckWindowMs: 7200000\nforecast:\n  staleAfterSteps: 4\n');
    const config = loadConfig({ file, env: { HYGROCAST_QUALITY_SPIKE_THRESHOLD_RH: '25' } });
    expect(config.quality).toEqual({ stuckWindowMs: 7_200_000, spikeThresholdRh: 25, staleAfterMs: 60_000 });
    expect(config.forecast.staleAfterSteps).toBe(4);
    const bad = writeConfig('quality:\n  stuckWindowMs: 1000\n  spikeThresholdRh: 0\nforecast:\n  staleAfterSteps: 0\n');
    expect(problemsOf(() => loadConfig({ file: bad, env: {} }))).toEqual([
      expect.stringMatching(/^quality\.stuckWindowMs: .*>=60000/),
      expect.stringMatching(/^quality\.spikeThresholdRh: .*>=1/),
      expect.stringMatching(/^forecast\.staleAfterSteps: .*>=1/),
    ]);
  });

  it('takes sensor topics outside the gateway\'s own topic trees, each once, with one + level', () => {
    const ok = writeConfig('mqtt:\n  sensorTopics:\n    - topic: zigbee2mqtt/+\n    - topic: tele/+/SENSOR\n      humidity: AM2301.Humidity\n      temperature: ""\n');
    expect(loadConfig({ file: ok, env: {} }).mqtt.sensorTopics).toEqual([
      { topic: 'zigbee2mqtt/+', humidity: 'humidity', temperature: 'temperature' },
      { topic: 'tele/+/SENSOR', humidity: 'AM2301.Humidity', temperature: '' },
    ]);
    const wrong = writeConfig(
      'mqtt:\n  sensorTopics:\n    - topic: hygrocast/+\n    - topic: homeassistant/+/state\n    - topic: zigbee2mqtt/#\n    - topic: tele/+\n      humidity: "a..b"\n    - topic: tele/+\n',
    );
    // Every problem at once: the gateway's own topic trees, a # filter, a bad field path, a duplicate.
    expect(problemsOf(() => loadConfig({ file: wrong, env: {} }))).toEqual([
      expect.stringMatching(/^mqtt\.sensorTopics\.2\.topic: a sensor topic filter needs no # wildcard/),
      expect.stringMatching(/^mqtt\.sensorTopics\.3\.humidity: a JSON field name/),
      expect.stringMatching(/^mqtt\.sensorTopics\.0\.topic: "hygrocast\/\.\.\." is the gateway's own topic tree/),
      expect.stringMatching(/^mqtt\.sensorTopics\.1\.topic: "homeassistant\/\.\.\." is the gateway's own topic tree/),
      expect.stringMatching(/^mqtt\.sensorTopics\.4\.topic: "tele\/\+" is listed twice/),
    ]);
    const off = writeConfig('mqtt:\n  enabled: false\n  sensorTopics:\n    - topic: zigbee2mqtt/+\n');
    expect(problemsOf(() => loadConfig({ file: off, env: {} }))).toEqual(['mqtt.sensorTopics: sensor topics are read from the embedded broker: they need mqtt.enabled']);
  });

  it('reports unreadable files and invalid YAML as config errors', () => {
    expect(problemsOf(() => loadConfig({ file: '/nonexistent/hygrocast.yaml', env: {} }))[0]).toMatch(/cannot read the file/);
    expect(problemsOf(() => loadConfig({ file: writeConfig('mqtt: [\n'), env: {} }))[0]).toMatch(/not valid YAML/);
    expect(problemsOf(() => loadConfig({ file: writeConfig('mqtt:\n  port: 1\nmqtt:\n  port: 2\n'), env: {} }))[0]).toMatch(/not valid YAML/);
  });

  it('the gateway process refuses to start on a bad config, listing every error, exit code 2', async () => {
    const file = writeConfig('mqtt:\n  port: "abc"\ndashbord:\n  port: 8080\n');
    const result = await run(process.execPath, ['--import', 'tsx', 'gateway/main.ts', '--config', file], { cwd: repoRoot }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/mqtt\.port: .*expected number/);
    expect(result.stderr).toMatch(/dashbord: unknown key/);
    expect(result.stderr).toMatch(/refusing to start/);
  });
});
