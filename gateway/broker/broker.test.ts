import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { Writable } from 'node:stream';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { requireTool } from '../../test/prereq.ts';
import { ManualClock } from '../clock.ts';
import { createLogger, type Logger } from '../log.ts';
import type { Reading } from '../types.ts';
import { startBroker, type RunningBroker } from './broker.ts';
import { MqttPublisher } from './publisher.ts';
import { encodeState } from './topics.ts';

const reading: Reading = {
  sensorId: 'kitchen',
  bootId: 'b7f3',
  seq: 17,
  uptimeMs: 12_345,
  wallTimeMs: Date.UTC(2026, 0, 2, 3, 4, 5),
  rh: 45.123,
  tempC: 21.3,
  quality: [],
};

function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('debug', sink), lines };
}

const brokers: RunningBroker[] = [];
const clientsToClose: net.Socket[] = [];
const clients: MqttClient[] = [];
const children = new Set<ChildProcess>();

async function start(options: { port?: number; maxClients?: number } = {}): Promise<{ broker: RunningBroker; lines: Array<Record<string, unknown>> }> {
  const { logger, lines } = captureLogger();
  const broker = await startBroker({ host: '127.0.0.1', port: options.port ?? 0, logger, maxClients: options.maxClients, optionName: 'mqtt.port' });
  brokers.push(broker);
  return { broker, lines };
}

async function connect(port: number): Promise<MqttClient> {
  const client = await connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 4 });
  clients.push(client);
  return client;
}

/** Collects `n` messages (topic -> payload) from a client subscribed to `filter`. */
async function receive(client: MqttClient, filter: string, n: number): Promise<Map<string, string>> {
  const got = new Map<string, string>();
  const done = new Promise<Map<string, string>>((resolve) => {
    client.on('message', (topic, payload) => {
      got.set(topic, payload.toString('utf8'));
      if (got.size === n) resolve(got);
    });
  });
  await client.subscribeAsync(filter, { qos: 0 });
  return done;
}

/** Runs mosquitto_sub until it has `count` messages; returns "topic payload" lines. */
function mosquittoSub(tool: string, port: number, count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, ['-h', '127.0.0.1', '-p', String(port), '-t', 'hygrocast/#', '-v', '-C', String(count), '-W', '20']);
    children.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      children.delete(child);
      if (code === 0) resolve(out.trim().split('\n'));
      else reject(new Error(`mosquitto_sub exited with ${code}: ${err.trim()} (got: ${out.trim()})`));
    });
  });
}

function asMap(lines: string[]): Map<string, string> {
  return new Map(lines.map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]));
}

afterEach(async () => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  for (const socket of clientsToClose.splice(0)) socket.destroy();
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});

describe('embedded broker', () => {
  it('mosquitto_sub receives the retained availability, state and plain topics', async () => {
    const tool = requireTool('mosquitto_sub');
    if (!tool) return;
    const { broker } = await start();
    const publisher = new MqttPublisher(broker.aedes);
    await publisher.online();
    await publisher.publishReading(reading);
    const got = asMap(await mosquittoSub(tool, broker.port, 4));
    expect(got).toEqual(
      new Map([
        ['hygrocast/bridge/state', 'online'],
        ['hygrocast/kitchen', encodeState(reading)],
        ['hygrocast/kitchen/humidity', '45.12'],
        ['hygrocast/kitchen/temperature', '21.3'],
      ]),
    );
    expect(JSON.parse(got.get('hygrocast/kitchen')!)).toMatchObject({ humidity: 45.12, temperature: 21.3, seq: 17, boot_id: 'b7f3' });
  });

  it('an MQTT.js client receives retained and live messages, links included', async () => {
    const { broker } = await start();
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const publisher = new MqttPublisher(broker.aedes, { clock, sensorsOf: (s) => (s === 'sim:cellar' ? ['cellar'] : []) });
    await publisher.online();
    await publisher.publishReading(reading);
    const client = await connect(broker.port);
    const retained = await receive(client, 'hygrocast/#', 4);
    expect(retained.get('hygrocast/kitchen/humidity')).toBe('45.12');

    const live = new Promise<Map<string, string>>((resolve) => {
      const got = new Map<string, string>();
      client.on('message', (topic, payload) => {
        if (topic.endsWith('/link')) got.set(topic, payload.toString('utf8'));
        if (got.size === 2) resolve(got);
      });
    });
    await publisher.publishLink('serial:/dev/ttyUSB0', 'up', 'opened');
    await publisher.publishReading({ ...reading, seq: 18 }, 'serial:/dev/ttyUSB0');
    await publisher.publishLink('sim:cellar', 'down', 'stopped');
    const links = await live;
    expect(JSON.parse(links.get('hygrocast/kitchen/link')!)).toEqual({ state: 'up', source: 'serial:/dev/ttyUSB0', detail: 'opened', time: '2026-01-01T00:00:00.000Z' });
    expect(JSON.parse(links.get('hygrocast/cellar/link')!)).toMatchObject({ state: 'down', source: 'sim:cellar' });
  });

  it("delivers every state live to a '#' subscriber while clients publish in between (Aedes drops out-of-order numbers)", async () => {
    const { broker } = await start();
    const publisher = new MqttPublisher(broker.aedes);
    await publisher.online();
    // As the ingest source does: each ingest message, delivered in process, publishes the sensor's retained state.
    await new Promise<void>((resolve) =>
      broker.aedes.subscribe(
        'hub/+',
        (packet, done) => {
          done();
          void publisher.publishReading({ ...reading, sensorId: packet.topic.slice(4), rh: Number(String(packet.payload)) });
        },
        resolve,
      ),
    );
    // The subscriber sees the hub's messages too (Node-RED on '#'): they are what overtakes.
    const client = await connect(broker.port);
    await client.subscribeAsync('#');
    const live: string[] = [];
    client.on('message', (topic, _payload, packet) => void (!packet.retain && live.push(topic)));
    // A hub sends two readings in one TCP write: raw MQTT 3.1.1 CONNECT, then two PUBLISH packets.
    const hub = net.connect(broker.port, '127.0.0.1');
    clientsToClose.push(hub);
    await new Promise<void>((resolve) => hub.once('connect', () => resolve()));
    const connectPacket = Buffer.from([0x10, 15, 0, 4, ...Buffer.from('MQTT'), 4, 0x02, 0, 0, 0, 3, ...Buffer.from('hub')]);
    const publishPacket = (topic: string, payload: string): Buffer => Buffer.from([0x30, 2 + topic.length + payload.length, 0, topic.length, ...Buffer.from(topic), ...Buffer.from(payload)]);
    hub.write(connectPacket);
    await expect.poll(() => broker.aedes.connectedClients).toBe(2);
    hub.write(Buffer.concat([publishPacket('hub/kitchen', '41'), publishPacket('hub/cellar', '77')]));
    await expect.poll(() => live.filter((t) => t === 'hygrocast/kitchen' || t === 'hygrocast/cellar').sort()).toEqual(['hygrocast/cellar', 'hygrocast/kitchen']);
  });

  it('offline() leaves `offline` retained for later subscribers', async () => {
    const { broker } = await start();
    const publisher = new MqttPublisher(broker.aedes);
    await publisher.online();
    await publisher.offline();
    await publisher.publishReading(reading); // ignored once stopped
    const client = await connect(broker.port);
    const got = await receive(client, 'hygrocast/#', 1);
    expect(got).toEqual(new Map([['hygrocast/bridge/state', 'offline']]));
    const tool = requireTool('mosquitto_sub');
    if (!tool) return;
    expect(await mosquittoSub(tool, broker.port, 1)).toEqual(['hygrocast/bridge/state offline']);
  });

  it('rejects a reserved sensor id with a clear error', async () => {
    const { broker } = await start();
    const publisher = new MqttPublisher(broker.aedes);
    await publisher.online();
    await expect(publisher.publishReading({ ...reading, sensorId: 'bridge' })).rejects.toMatchObject({ code: 'RESERVED_SENSOR_ID', message: expect.stringMatching(/"bridge" is reserved/) });
  });

  it('a second broker on the same port fails with EADDRINUSE naming the port and the option', async () => {
    const { broker } = await start();
    await expect(start({ port: broker.port })).rejects.toMatchObject({
      code: 'EADDRINUSE',
      message: expect.stringMatching(new RegExp(`port ${broker.port} is already in use.*mqtt\\.port`)),
    });
  });

  it('refuses connections beyond maxClients and logs them', async () => {
    const { broker, lines } = await start({ maxClients: 1 });
    await connect(broker.port);
    // A raw socket: the broker closes it on arrival, before any MQTT byte is exchanged.
    const extra = net.connect(broker.port, '127.0.0.1');
    let received = 0;
    extra.on('data', (d: Buffer) => (received += d.length));
    await new Promise<void>((resolve) => {
      extra.once('close', () => resolve());
      extra.on('error', () => {}); // a reset instead of a FIN is also a refusal
    });
    expect(received).toBe(0);
    expect(lines.some((l) => l.msg === 'mqtt connection refused: maxClients reached')).toBe(true);
  });

  it('disconnects a client that publishes on a gateway topic, keeping the retained state', async () => {
    const { broker, lines } = await start();
    const publisher = new MqttPublisher(broker.aedes);
    await publisher.online();
    const rogue = await connect(broker.port);
    const closed = new Promise<void>((resolve) => rogue.once('close', () => resolve()));
    rogue.publish('hygrocast/bridge/state', 'offline', { retain: true });
    await closed;
    expect(lines.some((l) => l.msg === 'mqtt client error' && String(l.err).includes('published by the gateway only'))).toBe(true);
    const reader = await connect(broker.port);
    expect(await receive(reader, 'hygrocast/bridge/state', 1)).toEqual(new Map([['hygrocast/bridge/state', 'online']]));
  });

  it('refuses MQTT 5 clients (Aedes 1.x speaks 3.1/3.1.1) and logs it', async () => {
    const { broker, lines } = await start();
    const refused = new Promise<void>((resolve) => broker.aedes.once('connectionError', () => resolve()));
    await expect(connectAsync(`mqtt://127.0.0.1:${broker.port}`, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000 })).rejects.toThrow(
      /protocol version/i,
    );
    await refused;
    expect(lines.some((l) => l.msg === 'mqtt connection error')).toBe(true);
  });

  it('close() disconnects clients and frees the port', async () => {
    const { broker } = await start();
    const client = await connect(broker.port);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    await broker.close();
    await closed;
    const again = await start({ port: broker.port });
    expect(again.broker.port).toBe(broker.port);
  });
});
