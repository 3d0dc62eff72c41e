import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { configSchema } from '../config/schema.ts';
import { GatewayBus } from '../events.ts';
import type { Reading } from '../types.ts';
import { hashPassword } from './auth.ts';
import { startBroker, type RunningBroker } from './broker.ts';
import { MqttPublisher } from './publisher.ts';
import { authFromConfig, startMqttSurface, type MqttSurface } from './surface.ts';

const silent = pino({ level: 'silent' });
const reading: Reading = { sensorId: 'attic', bootId: 'b1', seq: 1, uptimeMs: 1000, wallTimeMs: Date.UTC(2026, 0, 1), rh: 50, tempC: 20, quality: [] };

describe('mqtt config keys', () => {
  it('default to discovery on, anonymous read-only, no users, no TLS', () => {
    const mqtt = configSchema.parse({}).mqtt;
    expect(mqtt).toMatchObject({ users: [], allowAnonymous: true, discovery: { enabled: true, prefix: 'homeassistant' } });
    expect(mqtt.tls).toBeUndefined();
    expect(authFromConfig(mqtt).anonymous).toEqual({ subscribe: ['hygrocast/#', 'homeassistant/#'], publish: ['homeassistant/status'] });
  });

  it('refuse a plain-text password and a malformed ACL filter, naming the key', () => {
    const bad = configSchema.safeParse({ mqtt: { users: [{ username: 'ha', passwordHash: 'hunter2', subscribe: ['a/#/b'] }] } });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['mqtt.users.0.passwordHash', 'mqtt.users.0.subscribe.0']));
    const good = configSchema.parse({ mqtt: { users: [{ username: 'ha', passwordHash: hashPassword('x'), subscribe: ['hygrocast/+/humidity'] }] } });
    expect(good.mqtt.users[0]).toMatchObject({ username: 'ha', publish: [] });
  });
});

describe('startMqttSurface', () => {
  let broker: RunningBroker | null = null;
  let surface: MqttSurface | null = null;
  let client: MqttClient | null = null;
  afterEach(async () => {
    await client?.endAsync(true);
    await surface?.stop();
    await broker?.close();
    [client, surface, broker] = [null, null, null];
  });

  it('serves info, announces discovery on a reading, and builds the ingest source', async () => {
    broker = await startBroker({ host: '127.0.0.1', port: 0, logger: silent });
    const publisher = new MqttPublisher(broker.aedes);
    await publisher.online();
    const bus = new GatewayBus();
    const mqtt = configSchema.parse({}).mqtt;
    surface = await startMqttSurface({
      aedes: broker.aedes,
      publisher,
      mqtt,
      bus,
      logger: silent,
      clock: new ManualClock(0),
      swVersion: '9.9.9',
      health: () => ({ status: 'ok' }),
      sensors: () => ({ sensors: ['attic'] }),
      info: () => ({ gateway: 'gw', version: '9.9.9', model: 'm1' }),
    });
    expect(surface.commands.commands()).toEqual(['health', 'info', 'sensors']);
    expect(surface.ingest.name).toBe('mqtt:ingest');
    client = await connectAsync(`mqtt://127.0.0.1:${broker.port}`, { reconnectPeriod: 0, protocolVersion: 4 });
    const got = new Map<string, string>();
    client.on('message', (t, p) => got.set(t, p.toString('utf8')));
    await client.subscribeAsync(['hygrocast/bridge/response/+', 'homeassistant/#']);
    await client.publishAsync('hygrocast/bridge/request/info', '{"id":"x1"}');
    await expect.poll(() => got.get('hygrocast/bridge/response/info')).toBe(JSON.stringify({ id: 'x1', ok: true, data: { gateway: 'gw', version: '9.9.9', model: 'm1' } }));
    bus.emit('reading', reading);
    await expect.poll(() => [...got.keys()].filter((t) => t.startsWith('homeassistant/')).length).toBe(6);
    expect(JSON.parse(got.get('homeassistant/sensor/hygrocast_hygrocast/attic_humidity/config')!)).toMatchObject({ device: { sw_version: '9.9.9' } });
  });
});
