import { spawn } from 'node:child_process';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../gateway/broker/auth.ts';
import { startGatewayProcess, type GatewayProcess } from './gateway-process.ts';
import { requireTool } from './prereq.ts';

/**
 * The MQTT surface of the gateway as a process, configured from YAML: a user publishes a reading
 * with mosquitto_pub, the `sensors` command then lists the sensor from the store, and Home
 * Assistant discovery configs are retained for it, readable anonymously.
 */
const pub = requireTool('mosquitto_pub');

function mosquittoPub(port: number, args: string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(pub!, ['-h', '127.0.0.1', '-p', String(port), ...args], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', resolve);
  });
}

describe.skipIf(pub === null)('gateway MQTT surface', () => {
  let gw: GatewayProcess | null = null;
  const clients: mqtt.MqttClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    gw?.cleanup();
    gw = null;
  });

  it('stores an ingested reading, answers commands and announces it to Home Assistant', async () => {
    gw = await startGatewayProcess({
      sources: [{ type: 'sim', sensors: ['sim-1'], intervalMs: 1000 }],
      mqtt: {
        host: '127.0.0.1',
        port: 0,
        users: [{ username: 'node', passwordHash: hashPassword('red'), publish: ['hygrocast/ingest/+', 'hygrocast/bridge/request/+'], subscribe: ['hygrocast/#'] }],
      },
      dashboard: { enabled: false },
      forecast: { enabled: false },
    });
    const port = gw.mqttPort;
    expect(await mosquittoPub(port, ['-u', 'node', '-P', 'red', '-t', 'hygrocast/ingest/attic', '-m', '{"humidity": 55.5, "seq": 3}'])).toBe(0);

    const user = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { username: 'node', password: 'red', reconnectPeriod: 0 });
    clients.push(user);
    const responses: Array<Record<string, unknown>> = [];
    user.on('message', (_t, p) => responses.push(JSON.parse(p.toString()) as Record<string, unknown>));
    await user.subscribeAsync('hygrocast/bridge/response/+');
    await expect
      .poll(
        async () => {
          await user.publishAsync('hygrocast/bridge/request/sensors', JSON.stringify({ id: responses.length }));
          await new Promise((r) => setTimeout(r, 100));
          return responses.some((r) => r.ok === true && JSON.stringify(r.data).includes('"attic"'));
        },
        { timeout: 10_000, interval: 200 },
      )
      .toBe(true);

    const anonymous = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
    clients.push(anonymous);
    const configs = new Set<string>();
    anonymous.on('message', (t) => configs.add(t));
    await anonymous.subscribeAsync('homeassistant/#');
    const wanted = ['attic', 'sim-1'].map((id) => `homeassistant/sensor/hygrocast_hygrocast/${id}_humidity/config`);
    await expect.poll(() => wanted.filter((t) => configs.has(t)), { timeout: 10_000 }).toEqual(wanted);
    // The HA link entity of each sensor has a state: its source's link, retained from its first reading on.
    const links = new Map<string, string>();
    user.on('message', (t, p) => t.endsWith('/link') && links.set(t, p.toString()));
    await user.subscribeAsync('hygrocast/+/link');
    await expect.poll(() => links.size, { timeout: 10_000 }).toBe(2);
    expect(JSON.parse(links.get('hygrocast/sim-1/link')!)).toMatchObject({ state: 'up', source: 'sim:sim-1' });
    expect(JSON.parse(links.get('hygrocast/attic/link')!)).toMatchObject({ state: 'up', source: 'mqtt:ingest' });

    // Anonymous clients are read-only: a publish to ingest disconnects them and stores nothing.
    const closed = new Promise<void>((resolve) => anonymous.once('close', () => resolve()));
    anonymous.publish('hygrocast/ingest/forged', '{"humidity": 1}');
    await closed;
    responses.length = 0;
    await user.publishAsync('hygrocast/bridge/request/sensors', '{"id":"last"}');
    await expect.poll(() => responses.find((r) => r.id === 'last')).toBeDefined();
    expect(JSON.stringify(responses.find((r) => r.id === 'last')!.data)).not.toContain('forged');
  }, 40_000);

  it('takes readings from Zigbee2MQTT-style topics (mqtt.sensorTopics) and announces those sensors to Home Assistant', async () => {
    gw = await startGatewayProcess({
      sources: [],
      mqtt: {
        host: '127.0.0.1',
        port: 0,
        users: [{ username: 'z2m', passwordHash: hashPassword('zigbee'), publish: ['zigbee2mqtt/#'], subscribe: ['zigbee2mqtt/#'] }],
        sensorTopics: [{ topic: 'zigbee2mqtt/+' }],
      },
      dashboard: { enabled: false },
      forecast: { enabled: false },
    });
    const port = gw.mqttPort;
    const watcher = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
    clients.push(watcher);
    const seen = new Map<string, string>();
    watcher.on('message', (t, p) => seen.set(t, p.toString()));
    await watcher.subscribeAsync(['hygrocast/#', 'homeassistant/#']);
    // As Zigbee2MQTT publishes an Aqara sensor, and a lamp that has no humidity.
    const z2m = ['-u', 'z2m', '-P', 'zigbee'];
    expect(await mosquittoPub(port, [...z2m, '-t', 'zigbee2mqtt/0x00158d0001a2b3c4', '-m', '{"battery":100,"humidity":61.2,"linkquality":120,"temperature":21.5,"voltage":3005}'])).toBe(0);
    expect(await mosquittoPub(port, [...z2m, '-t', 'zigbee2mqtt/lamp', '-m', '{"state":"ON","brightness":254}'])).toBe(0);
    await expect.poll(() => seen.get('hygrocast/0x00158d0001a2b3c4'), { timeout: 10_000 }).toBeDefined();
    expect(JSON.parse(seen.get('hygrocast/0x00158d0001a2b3c4')!)).toMatchObject({ humidity: 61.2, temperature: 21.5, quality: [] });
    await expect.poll(() => seen.has('homeassistant/sensor/hygrocast_hygrocast/0x00158d0001a2b3c4_humidity/config'), { timeout: 10_000 }).toBe(true);
    // Its link is the gateway's subscription to the pattern (up while it listens), not the radio's.
    await expect.poll(() => seen.get('hygrocast/0x00158d0001a2b3c4/link'), { timeout: 10_000 }).toBeDefined();
    expect(JSON.parse(seen.get('hygrocast/0x00158d0001a2b3c4/link')!)).toMatchObject({ state: 'up', source: 'mqtt:zigbee2mqtt/+', detail: 'subscribed to zigbee2mqtt/+' });
    expect([...seen.keys()].some((t) => t.includes('lamp'))).toBe(false);
  }, 40_000);

  it('flags ingested readings with the configured quality thresholds', async () => {
    gw = await startGatewayProcess({
      sources: [],
      mqtt: {
        host: '127.0.0.1',
        port: 0,
        users: [{ username: 'node', passwordHash: hashPassword('red'), publish: ['hygrocast/ingest/+'], subscribe: ['hygrocast/#'] }],
      },
      // Defaults: stuck after 30 min, spike above 15 %RH, stale when 60 s old on arrival.
      quality: { stuckWindowMs: 60_000, spikeThresholdRh: 5, staleAfterMs: 300_000 },
      dashboard: { enabled: false },
      forecast: { enabled: false },
    });
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { username: 'node', password: 'red', reconnectPeriod: 0 });
    clients.push(client);
    const states: Array<{ humidity: number; quality: string[]; seq: number }> = [];
    client.on('message', (_t, p) => states.push(JSON.parse(p.toString()) as { humidity: number; quality: string[]; seq: number }));
    await client.subscribeAsync('hygrocast/attic');
    const now = Date.now();
    const send = (seq: number, humidity: number, ageS: number) =>
      client.publishAsync('hygrocast/ingest/attic', JSON.stringify({ humidity, seq, time: new Date(now - ageS * 1000).toISOString() }));
    // The same value 4 times over 100 s (past the 60 s window, and STUCK_MIN_READINGS), then a 10 %RH jump.
    await send(0, 50, 100);
    await send(1, 50, 75);
    await send(2, 50, 50);
    await send(3, 50, 0);
    await send(4, 60, 0);
    await expect.poll(() => states.length, { timeout: 10_000 }).toBe(5);
    expect(states.slice(1).map((s) => [s.seq, s.quality])).toEqual([
      [1, []],
      [2, []],
      [3, ['stuck']],
      [4, ['spike']],
    ]);
  }, 40_000);
});
