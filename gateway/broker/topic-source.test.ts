import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import type { Reading } from '../types.ts';
import { startBroker, type RunningBroker } from './broker.ts';
import { MqttTopicSource, sensorTopicProblem } from './topic-source.ts';

let broker: RunningBroker | null = null;
let client: MqttClient | null = null;
afterEach(async () => {
  await client?.endAsync();
  await broker?.close();
  client = null;
  broker = null;
});

/** A real broker on 127.0.0.1, the source on it, and a client publishing as the foreign sensors do. */
async function setup(options: { topic: string; humidity?: string; temperature?: string; maxPayloadBytes?: number }) {
  broker = await startBroker({ host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }) });
  const clock = new ManualClock(Date.UTC(2026, 4, 1));
  const source = new MqttTopicSource(broker.aedes, { humidity: 'humidity', temperature: 'temperature', clock, ...options });
  const readings: Reading[] = [];
  const rejected: string[] = [];
  source.on('reading', (r) => readings.push(r));
  source.on('rejected', (reason) => rejected.push(reason));
  await source.start();
  client = await connectAsync(`mqtt://127.0.0.1:${broker.port}`, { reconnectPeriod: 0, protocolVersion: 4 });
  /** Publishes at QoS 1, one message after the other. */
  const send = async (messages: Array<[string, string]>): Promise<void> => {
    for (const [topic, payload] of messages) await client!.publishAsync(topic, payload, { qos: 1 });
  };
  return { source, readings, rejected, send, clock };
}

describe('MqttTopicSource', () => {
  it('reads Zigbee2MQTT devices: the + level is the sensor, extra fields are ignored, other devices are skipped', async () => {
    const { source, readings, rejected, send } = await setup({ topic: 'zigbee2mqtt/+' });
    await send([
      ['zigbee2mqtt/0x00158d0001a2b3c4', '{"battery":100,"humidity":61.2,"linkquality":120,"temperature":21.5,"voltage":3005}'],
      ['zigbee2mqtt/lamp', '{"state":"ON","brightness":254}'],
      ['zigbee2mqtt/0x00158d0001a2b3c4', '{"battery":99,"humidity":61.9,"temperature":"n/a"}'],
      ['zigbee2mqtt/bathroom', '{"humidity":88}'],
      ['zigbee2mqtt/bridge/state', '{"state":"online"}'],
    ]);
    await expect.poll(() => readings.length).toBe(3);
    expect(readings.map((r) => [r.sensorId, r.seq, r.rh, r.tempC])).toEqual([
      ['0x00158d0001a2b3c4', 0, 61.2, 21.5],
      ['0x00158d0001a2b3c4', 1, 61.9, null],
      ['bathroom', 0, 88, null],
    ]);
    expect(readings[0]).toMatchObject({ wallTimeMs: Date.UTC(2026, 4, 1), quality: [], bootId: expect.stringMatching(/^mqtt-/) });
    expect(source.name).toBe('mqtt:zigbee2mqtt/+');
    expect(source.rejectedCounts()).toEqual({ no_humidity: 1 });
    expect(rejected).toEqual([]);
  });

  it('follows a nested path (Tasmota tele/<device>/SENSOR) and takes no temperature when told none', async () => {
    const { readings, send } = await setup({ topic: 'tele/+/SENSOR', humidity: 'AM2301.Humidity', temperature: '' });
    await send([['tele/cellar/SENSOR', '{"Time":"2026-05-01T12:00:00","AM2301":{"Temperature":12.3,"Humidity":71.4},"TempUnit":"C"}']]);
    await expect.poll(() => readings.length).toBe(1);
    expect(readings[0]).toMatchObject({ sensorId: 'cellar', rh: 71.4, tempC: null });
  });

  it("reads a bare number per topic (ESPHome's state topics) with an empty humidity path", async () => {
    const { readings, source, send } = await setup({ topic: 'esphome/+/sensor/humidity/state', humidity: '', temperature: '' });
    await send([
      ['esphome/cellar-node/sensor/humidity/state', '71.4'],
      ['esphome/cellar-node/sensor/humidity/state', 'nan'],
    ]);
    await expect.poll(() => readings.length).toBe(1);
    expect(readings[0]).toMatchObject({ sensorId: 'cellar-node', rh: 71.4, tempC: null });
    await expect.poll(() => source.rejectedCounts()).toEqual({ not_json: 1 });
  });

  it('rejects and counts what cannot be a reading, and never publishes under the foreign topics', async () => {
    const { source, readings, rejected, send } = await setup({ topic: 'zigbee2mqtt/+', maxPayloadBytes: 128 });
    const seen: string[] = [];
    await client!.subscribeAsync('#');
    client!.on('message', (t) => seen.push(t));
    await send([
      ['zigbee2mqtt/attic', 'humid!'],
      ['zigbee2mqtt/attic', '{"humidity":"61"}'],
      ['zigbee2mqtt/attic', '{"humidity":101}'],
      ['zigbee2mqtt/living room', '{"humidity":50}'],
      ['zigbee2mqtt/bridge', '{"humidity":50}'],
      ['zigbee2mqtt/attic', JSON.stringify({ humidity: 50, padding: 'x'.repeat(200) })],
      ['zigbee2mqtt/attic', '{"humidity":50}'],
    ]);
    await expect.poll(() => readings.length).toBe(1);
    expect(readings[0]).toMatchObject({ sensorId: 'attic', rh: 50 });
    expect(source.rejectedCounts()).toEqual({ not_json: 1, invalid_payload: 2, invalid_sensor_id: 2, too_large: 1 });
    expect(rejected).toEqual(['not_json', 'invalid_payload', 'invalid_payload', 'invalid_sensor_id', 'invalid_sensor_id', 'too_large']);
    // Only the seven messages sent come back to a subscriber of everything: no error topic, no echo.
    await expect.poll(() => seen.length).toBe(7);
    expect(seen.every((t) => t.startsWith('zigbee2mqtt/'))).toBe(true);
  });

  it('numbers readings under its own boot id, so two patterns naming one sensor never collide', async () => {
    const a = await setup({ topic: 'zigbee2mqtt/+' });
    const b = new MqttTopicSource(broker!.aedes, { topic: 'tele/+/SENSOR', humidity: 'AM2301.Humidity', temperature: '', clock: a.clock });
    const fromB: Reading[] = [];
    b.on('reading', (r) => fromB.push(r));
    await b.start();
    await a.send([
      ['zigbee2mqtt/cellar', '{"humidity":70}'],
      ['tele/cellar/SENSOR', '{"AM2301":{"Humidity":71}}'],
    ]);
    await expect.poll(() => a.readings.length + fromB.length).toBe(2);
    expect([a.readings[0]!.seq, fromB[0]!.seq]).toEqual([0, 0]);
    expect(a.readings[0]!.bootId).not.toBe(fromB[0]!.bootId);
    await b.stop();
  });

  it('takes only filters with one + level for the sensor and a plain first level', () => {
    expect(sensorTopicProblem('zigbee2mqtt/+')).toBeNull();
    expect(sensorTopicProblem('tele/+/SENSOR')).toBeNull();
    expect(sensorTopicProblem('zigbee2mqtt/#')).toMatch(/no #/);
    expect(sensorTopicProblem('a/+/+')).toMatch(/exactly one \+/);
    expect(sensorTopicProblem('zigbee2mqtt')).toMatch(/exactly one \+/);
    expect(sensorTopicProblem('a/b+')).toMatch(/exactly one \+|whole level/);
    expect(sensorTopicProblem('+/state')).toMatch(/first level/);
    expect(sensorTopicProblem('$SYS/+')).toMatch(/first level/);
    expect(() => new MqttTopicSource({ subscribe: () => {}, unsubscribe: () => {}, publish: () => {} } as never, { topic: 'x/#', humidity: 'h', temperature: '' })).toThrow(/sensor topic "x\/#": no #/);
  });
});
