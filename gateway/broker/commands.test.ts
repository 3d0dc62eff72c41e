import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { startBroker, type RunningBroker } from './broker.ts';
import { MqttCommands } from './commands.ts';

const silent = pino({ level: 'silent' });
let broker: RunningBroker;
let client: MqttClient;
let commands: MqttCommands;
let clock: ManualClock;

beforeEach(async () => {
  broker = await startBroker({ host: '127.0.0.1', port: 0, logger: silent });
  clock = new ManualClock(Date.UTC(2026, 0, 1));
  commands = new MqttCommands(broker.aedes, { prefix: 'hygrocast', logger: silent, clock, maxInFlight: 2 });
  await commands.start();
  client = await connectAsync(`mqtt://127.0.0.1:${broker.port}`, { reconnectPeriod: 0, protocolVersion: 4 });
  await client.subscribeAsync('hygrocast/bridge/response/+');
});

afterEach(async () => {
  await commands.stop();
  await client.endAsync(true);
  await broker.close();
});

/** Sends a request and resolves with the response carrying the same id. */
function request(command: string, body: string, id: unknown): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const onMessage = (topic: string, payload: Buffer): void => {
      const r = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
      if (topic === `hygrocast/bridge/response/${command}` && r.id === id) {
        client.off('message', onMessage);
        resolve(r);
      }
    };
    client.on('message', onMessage);
    void client.publishAsync(`hygrocast/bridge/request/${command}`, body);
  });
}

describe('MQTT request/response commands', () => {
  it('answers a registered command on the response topic with the correlation id', async () => {
    commands.register('health', () => ({ status: 'ok' }));
    commands.register('echo', (args) => args);
    expect(await request('health', '{"id":"abc"}', 'abc')).toEqual({ id: 'abc', ok: true, data: { status: 'ok' } });
    expect(await request('echo', '{"id":7,"x":1}', 7)).toEqual({ id: 7, ok: true, data: { x: 1 } });
  });

  it('answers errors with a code: unknown command, bad JSON, handler failure', async () => {
    commands.register('boom', () => {
      throw Object.assign(new Error('serial port closed'), { code: 'SOURCE_DOWN' });
    });
    expect(await request('nope', '{"id":1}', 1)).toMatchObject({ id: 1, ok: false, error: { code: 'UNKNOWN_COMMAND' } });
    expect(await request('boom', '{"id":2}', 2)).toEqual({ id: 2, ok: false, error: { code: 'SOURCE_DOWN', message: 'serial port closed' } });
    expect(await request('boom', 'not json', null)).toMatchObject({ id: null, ok: false, error: { code: 'BAD_REQUEST' } });
  });

  it('answers TIMEOUT when a handler hangs, and BUSY beyond maxInFlight', async () => {
    commands.register('hang', () => new Promise(() => {}));
    const first = request('hang', '{"id":"a"}', 'a');
    const second = request('hang', '{"id":"b"}', 'b');
    expect(await request('hang', '{"id":"c"}', 'c')).toMatchObject({ ok: false, error: { code: 'BUSY' } });
    clock.advance(10_000);
    expect(await first).toMatchObject({ ok: false, error: { code: 'TIMEOUT' } });
    expect(await second).toMatchObject({ ok: false, error: { code: 'TIMEOUT' } });
  });
});
