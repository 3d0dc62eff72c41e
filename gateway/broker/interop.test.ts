import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireTool } from '../../test/prereq.ts';
import { GatewayBus } from '../events.ts';
import { ReadingPipeline } from '../pipeline.ts';
import { MemoryStore } from '../store/memory-store.ts';
import type { Reading } from '../types.ts';
import { defaultAnonymousAcl, hashPassword } from './auth.ts';
import { startBroker, type RunningBroker } from './broker.ts';
import { MqttIngestSource } from './ingest.ts';
import { MqttPublisher } from './publisher.ts';

/**
 * Interop with Debian's mosquitto clients against the embedded broker with users, ACLs and a TLS
 * listener. Every "receives nothing" check is ordered: the forbidden message is sent first, then an
 * allowed one, and the subscriber must see the allowed one as its first message.
 */
const sub = requireTool('mosquitto_sub');
const pub = requireTool('mosquitto_pub');
const openssl = requireTool('openssl');
const ready = sub !== null && pub !== null && openssl !== null;

const reading: Reading = { sensorId: 'kitchen', bootId: 'b1', seq: 1, uptimeMs: 1000, wallTimeMs: Date.UTC(2026, 0, 1), rh: 45.5, tempC: 21, quality: [] };
const silent = pino({ level: 'silent' });
const users = [
  { username: 'alice', passwordHash: hashPassword('wonderland'), publish: ['#'], subscribe: ['#'] },
  { username: 'sensor', passwordHash: hashPassword('s3nsor'), publish: ['hygrocast/ingest/+'], subscribe: ['hygrocast/ingest/+/error'] },
];

let dir = '';
let broker: RunningBroker;
let store: MemoryStore;
let ingest: MqttIngestSource;
let publisher: MqttPublisher;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  if (!ready) return;
  dir = mkdtempSync(path.join(tmpdir(), 'hygrocast-mqtt-interop-'));
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync(openssl!, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  broker = await startBroker({
    host: '127.0.0.1',
    port: 0,
    logger: silent,
    auth: { users, allowAnonymous: true, anonymous: defaultAnonymousAcl('hygrocast') },
    tls: { port: 0, certFile: cert, keyFile: key },
    drainTimeoutMs: 1000,
  });
  store = new MemoryStore();
  const bus = new GatewayBus();
  const pipeline = new ReadingPipeline(store, bus, silent);
  ingest = new MqttIngestSource(broker.aedes, { prefix: 'hygrocast' });
  pipeline.attach(ingest);
  await ingest.start();
  publisher = new MqttPublisher(broker.aedes);
  await publisher.online();
  await publisher.publishReading(reading);
});

afterEach(() => {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
});

afterAll(async () => {
  if (!ready) return;
  await ingest.stop();
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function run(tool: string, args: string[]): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(tool, args);
  children.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const done = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      children.delete(child);
      resolve({ code, out: out.trim(), err: err.trim() });
    });
  });
  return { child, done };
}

const hostArgs = (): string[] => ['-h', '127.0.0.1', '-p', String(broker.port)];

/** Resolves once the broker has granted a subscription to `topic` (a refused one never appears). */
function subscribed(topic: string): Promise<void> {
  return new Promise((resolve) => {
    const onSub = (subs: Array<{ topic: string }>): void => {
      if (subs.some((s) => s.topic === topic)) {
        broker.aedes.off('subscribe', onSub);
        resolve();
      }
    };
    broker.aedes.on('subscribe', onSub);
  });
}

async function publishWith(args: string[]): Promise<Run> {
  const r = await run(pub!, [...hostArgs(), ...args]).done;
  return r;
}

describe.skipIf(!ready)('mosquitto_sub / mosquitto_pub interop', () => {
  it('an anonymous subscriber reads the retained gateway topics', async () => {
    const r = await run(sub!, [...hostArgs(), '-t', 'hygrocast/kitchen/humidity', '-C', '1', '-W', '10']).done;
    expect(r).toMatchObject({ code: 0, out: '45.5' });
  });

  it('a user with a password subscribes; a wrong password is refused', async () => {
    const ok = await run(sub!, [...hostArgs(), '-u', 'alice', '-P', 'wonderland', '-t', 'hygrocast/kitchen/humidity', '-C', '1', '-W', '10']).done;
    expect(ok).toMatchObject({ code: 0, out: '45.5' });
    const bad = await run(sub!, [...hostArgs(), '-u', 'alice', '-P', 'wrong', '-t', 'hygrocast/#', '-C', '1', '-W', '10']).done;
    expect(bad.code).not.toBe(0);
    expect(bad.err.toLowerCase()).toMatch(/password|not authori[sz]ed/);
    const nobody = await run(sub!, [...hostArgs(), '-u', 'mallory', '-P', 'wonderland', '-t', 'hygrocast/#', '-C', '1', '-W', '10']).done;
    expect(nobody.code).not.toBe(0);
  });

  it('the ACL refuses a forbidden subscription: the subscriber receives nothing from it', async () => {
    // Anonymous may read hygrocast/# but not private/#; alice publishes to both, private first.
    const s = run(sub!, [...hostArgs(), '-v', '-R', '-C', '1', '-W', '10', '-t', 'private/#', '-t', 'hygrocast/kitchen/temperature']);
    await subscribed('hygrocast/kitchen/temperature');
    expect((await publishWith(['-u', 'alice', '-P', 'wonderland', '-t', 'private/diary', '-m', 'secret'])).code).toBe(0);
    await publisher.publishReading({ ...reading, seq: 2, tempC: 22 });
    const r = await s.done;
    expect(r).toMatchObject({ code: 0, out: 'hygrocast/kitchen/temperature 22' });
  });

  it('the ACL drops a forbidden publish; an allowed one is received', async () => {
    const s = run(sub!, [...hostArgs(), '-u', 'alice', '-P', 'wonderland', '-v', '-C', '1', '-W', '10', '-t', 'private/#']);
    await subscribed('private/#');
    // `sensor` may only publish to ingest; anonymous only to homeassistant/status.
    await publishWith(['-u', 'sensor', '-P', 's3nsor', '-t', 'private/a', '-m', 'forged by sensor']);
    await publishWith(['-t', 'private/b', '-m', 'forged by anonymous']);
    expect((await publishWith(['-u', 'alice', '-P', 'wonderland', '-t', 'private/c', '-m', 'real'])).code).toBe(0);
    expect((await s.done).out).toBe('private/c real');
  });

  it('anonymous clients may not keep a persistent session or publish large birth messages; users may', async () => {
    // A persistent session queues QoS 1 messages while its client is away, without bound in Aedes.
    await expect(mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clean: false, clientId: 'anon-persistent', reconnectPeriod: 0 })).rejects.toMatchObject({ code: 5 });
    const persistent = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clean: false, clientId: 'alice-persistent', username: 'alice', password: 'wonderland', reconnectPeriod: 0 });
    await persistent.endAsync(true);
    const anonymous = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { reconnectPeriod: 0 });
    const alice = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { username: 'alice', password: 'wonderland', reconnectPeriod: 0 });
    try {
      expect((await alice.subscribeAsync('homeassistant/status', { qos: 1 })).map((g) => g.qos)).toEqual([1]);
      const got: string[] = [];
      alice.on('message', (_t, payload) => got.push(payload.toString()));
      // The oversized one is refused (and its client disconnected, as for any refused publish).
      await anonymous.publishAsync('homeassistant/status', 'x'.repeat(1024));
      const another = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { reconnectPeriod: 0 });
      await another.publishAsync('homeassistant/status', 'online');
      await another.endAsync();
      await expect.poll(() => got, { timeout: 10_000 }).toEqual(['online']);
    } finally {
      await anonymous.endAsync(true);
      await alice.endAsync(true);
    }
  });

  it('a publish to the ingest topic is stored through the pipeline', async () => {
    const r = await publishWith(['-u', 'sensor', '-P', 's3nsor', '-t', 'hygrocast/ingest/attic', '-m', JSON.stringify({ humidity: 61.25, temperature: 18.5, seq: 7, boot_id: 'esp1', time: '2026-03-01T12:00:00Z' })]);
    expect(r.code).toBe(0);
    await expect.poll(() => store.recent('attic', 0).length).toBe(1);
    store.flush();
    expect(store.recent('attic', 0)[0]).toMatchObject({ sensorId: 'attic', rh: 61.25, tempC: 18.5, seq: 7, bootId: 'esp1', wallTimeMs: Date.UTC(2026, 2, 1, 12) });
  });

  it('a malformed ingest payload is rejected, counted, answered on the error topic and never stored', async () => {
    const before = ingest.rejectedCounts().invalid_payload ?? 0;
    const s = run(sub!, [...hostArgs(), '-u', 'sensor', '-P', 's3nsor', '-C', '1', '-W', '10', '-t', 'hygrocast/ingest/cellar/error']);
    await subscribed('hygrocast/ingest/cellar/error');
    await publishWith(['-u', 'sensor', '-P', 's3nsor', '-t', 'hygrocast/ingest/cellar', '-m', '{"humidity": 140}']);
    const answer = JSON.parse((await s.done).out) as { reason: string; message: string };
    expect(answer.reason).toBe('invalid_payload');
    expect(answer.message).toMatch(/humidity/);
    expect(ingest.rejectedCounts().invalid_payload).toBe(before + 1);
    expect(store.recent('cellar', 0)).toEqual([]);
  });

  it('the TLS listener serves mosquitto_sub --cafile', async () => {
    const r = await run(sub!, ['-h', '127.0.0.1', '-p', String(broker.tlsPort), '--cafile', path.join(dir, 'cert.pem'), '-t', 'hygrocast/bridge/state', '-C', '1', '-W', '10']).done;
    expect(r).toMatchObject({ code: 0, out: 'online' });
  });

  it('a subscriber that stops reading is dropped and does not stall the others', async () => {
    const s = run(sub!, [...hostArgs(), '-u', 'alice', '-P', 'wonderland', '-C', '1', '-W', '20', '-t', 'bulk/done']);
    await subscribed('bulk/done');
    const dropped = new Promise<string>((resolve) => {
      broker.aedes.on('clientError', (client, err) => client.id === 'stalled' && resolve(err.message));
    });
    const stalled = await stalledSubscriber(broker.port, 'bulk/#');
    const big = Buffer.alloc(64 * 1024, 120);
    // Far more than the socket buffers hold: the stalled client's socket stops draining.
    for (let i = 0; i < 400; i++) broker.aedes.publish({ cmd: 'publish', topic: 'bulk/data', payload: big, qos: 0, retain: false, dup: false }, () => {});
    expect(await dropped).toMatch(/drain timeout/); // dropped after drainTimeoutMs (1 s here)
    stalled.destroy();
    broker.aedes.publish({ cmd: 'publish', topic: 'bulk/done', payload: Buffer.from('yes'), qos: 0, retain: false, dup: false }, () => {});
    expect((await s.done).out).toBe('yes');
  });
});

/** A raw MQTT client that connects (as alice), subscribes, then never reads its socket again. */
async function stalledSubscriber(port: number, filter: string): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const str = (s: string): Buffer => Buffer.concat([Buffer.from([s.length >> 8, s.length & 0xff]), Buffer.from(s)]);
  const connectBody = Buffer.concat([str('MQTT'), Buffer.from([4, 0xc2, 0, 60]), str('stalled'), str('alice'), str('wonderland')]);
  const subBody = Buffer.concat([Buffer.from([0, 1]), str(filter), Buffer.from([0])]);
  const granted = subscribed(filter);
  socket.write(Buffer.concat([Buffer.from([0x10, connectBody.length]), connectBody, Buffer.from([0x82, subBody.length]), subBody]));
  await granted;
  socket.pause();
  socket.on('error', () => {});
  return socket;
}
