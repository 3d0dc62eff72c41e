import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { startBroker } from '../gateway/broker/broker.ts';
import { encodeState } from '../gateway/broker/topics.ts';
import { emit } from './figure.ts';
import { freePort } from '../test/free-port.ts';

/**
 * The same load against the embedded Aedes broker and Debian's mosquitto, in one run: one MQTT.js
 * publisher sends MESSAGES realistic state payloads (QoS 0, 4 sensor topics) and one MQTT.js
 * subscriber on `bench/#` receives them; the figure is messages delivered per second, from the
 * first publish to the last delivery. Best of ROUNDS per broker, rounds interleaved so both see
 * the same machine load. Note: the embedded broker shares this process (and its one JS thread)
 * with both clients, while mosquitto runs in its own process; that is how the gateway runs it.
 */
const MESSAGES = 20_000;
const ROUNDS = 3;
const SENSORS = 4;
const MOSQUITTO = '/usr/sbin/mosquitto';
/** A round that has not delivered everything within this is reported with what arrived, in ms. */
const ROUND_TIMEOUT_MS = 15_000;

export async function main(): Promise<void> {
  const embedded = await startBroker({ host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }), maxClients: 10 });
  const dir = mkdtempSync(path.join(tmpdir(), 'hygrocast-bench-broker-'));
  let mosquitto: ChildProcess | null = null;
  try {
    const port = await freePort();
    const conf = path.join(dir, 'mosquitto.conf');
    writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
    mosquitto = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let mosquittoErr = '';
    mosquitto.stderr!.on('data', (d: Buffer) => (mosquittoErr += d.toString('utf8')));
    await waitForPort(port, () => mosquittoErr);

    const payloads = Array.from({ length: SENSORS }, (_, i) =>
      encodeState({ sensorId: `sensor-${i}`, bootId: 'b7f3a1', seq: 12345, uptimeMs: 1, wallTimeMs: Date.UTC(2026, 0, 1), rh: 45.678 + i, tempC: 21.34, quality: [] }),
    );
    const best = { embedded: 0, mosquitto: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      best.embedded = Math.max(best.embedded, await measure(embedded.port, payloads));
      best.mosquitto = Math.max(best.mosquitto, await measure(port, payloads));
      process.stderr.write(`round ${round + 1}: embedded ${Math.round(best.embedded)} msg/s, mosquitto ${Math.round(best.mosquitto)} msg/s (best so far)\n`);
    }
    emit({
      bench: 'broker',
      figure: 'delivered_msgs_per_s',
      value: best.embedded,
      unit: 'msg/s',
      peer: 'mosquitto',
      peer_value: best.mosquitto,
      messages: MESSAGES,
      payload_bytes: Buffer.byteLength(payloads[0]!),
      qos: 0,
    });
  } finally {
    mosquitto?.kill('SIGTERM');
    await embedded.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Messages per second delivered to a subscriber for MESSAGES QoS 0 publishes through `port`. */
async function measure(port: number, payloads: string[]): Promise<number> {
  const options = { reconnectPeriod: 0, protocolVersion: 4 as const, connectTimeout: 5000 };
  const subscriber: MqttClient = await connectAsync(`mqtt://127.0.0.1:${port}`, options);
  const publisher: MqttClient = await connectAsync(`mqtt://127.0.0.1:${port}`, options);
  try {
    await subscriber.subscribeAsync('bench/#', { qos: 0 });
    let received = 0;
    let lastAt = 0;
    const all = new Promise<void>((resolve) => {
      subscriber.on('message', () => {
        received++;
        lastAt = performance.now();
        if (received === MESSAGES) resolve();
      });
    });
    const start = performance.now();
    for (let i = 0; i < MESSAGES; i++) {
      const s = i % SENSORS;
      publisher.publish(`bench/sensor-${s}`, payloads[s]!, { qos: 0 });
      // Yield now and then so the sockets (and the in-process broker) move while we publish.
      if (i % 500 === 499) await new Promise((r) => setImmediate(r));
    }
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, ROUND_TIMEOUT_MS).unref());
    await Promise.race([all, timeout]);
    if (received < MESSAGES) process.stderr.write(`port ${port}: only ${received} of ${MESSAGES} delivered within ${ROUND_TIMEOUT_MS} ms\n`);
    return received / ((lastAt - start) / 1000);
  } finally {
    await subscriber.endAsync(true);
    await publisher.endAsync(true);
  }
}


async function waitForPort(port: number, stderr: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`mosquitto did not listen on 127.0.0.1:${port} within 5 s: ${stderr().trim()}`);
}
