import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import mqtt from 'mqtt';
import { LineDecoder } from '../firmware-bridge/codec.ts';
import type { Message } from '../firmware-bridge/messages.ts';
import { encodeMessage } from '../firmware-bridge/protocol.ts';
import { toReading } from '../firmware-bridge/session.ts';
import { startBroker } from '../gateway/broker/broker.ts';
import { MqttPublisher } from '../gateway/broker/publisher.ts';
import { systemClock } from '../gateway/clock.ts';
import { GatewayBus } from '../gateway/events.ts';
import { ReadingPipeline } from '../gateway/pipeline.ts';
import { startFlushTimer } from '../gateway/store/flush-timer.ts';
import { SqliteStore } from '../gateway/store/sqlite-store.ts';
import { cpuMicros, emit } from './figure.ts';

/**
 * End-to-end ingest in one process: protocol lines -> LineDecoder -> pipeline -> SQLite store
 * (real flush timer, WAL) -> MqttPublisher -> embedded Aedes broker -> an MQTT.js subscriber on
 * loopback TCP. The clock stops when the subscriber has received every reading's state message.
 */
const SENSORS = 4;
const READINGS = 100_000;
const CHUNK = 2_000;

export async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'hygrocast-bench-ingest-'));
  const silent = pino({ level: 'silent' });
  const store = new SqliteStore({ dataDir: dir });
  const stopFlushing = startFlushTimer(store, systemClock, 1000, (err) => process.stderr.write(`flush failed: ${String(err)}\n`));
  const broker = await startBroker({ host: '127.0.0.1', port: 0, logger: silent, maxClients: 10 });
  const publisher = new MqttPublisher(broker.aedes, { prefix: 'hygrocast' });
  await publisher.online();
  const bus = new GatewayBus();
  const pipeline = new ReadingPipeline(store, bus, silent);
  const pending: Promise<void>[] = [];
  bus.on('reading', (r) => pending.push(publisher.publishReading(r)));

  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { protocolVersion: 4, clean: true });
  await client.subscribeAsync('hygrocast/+', { qos: 0 });
  let received = 0;
  let done: () => void = () => {};
  const allReceived = new Promise<void>((resolve) => (done = resolve));
  client.on('message', (topic) => {
    if (topic === 'hygrocast/bridge') return;
    received += 1;
    if (received === READINGS) done();
  });

  // Pre-encode the wire bytes, as a serial port would deliver them.
  const lines: string[] = [];
  for (let i = 0; i < READINGS; i++) {
    const msg: Message = {
      type: 'R',
      sensorId: `s${i % SENSORS}`,
      seq: Math.floor(i / SENSORS),
      uptimeMs: 1000 * Math.floor(i / SENSORS),
      rh: Math.round((45 + 10 * Math.sin(i / 500)) * 100) / 100,
      tempC: Math.round((21 + Math.cos(i / 700)) * 100) / 100,
      status: 0,
    };
    lines.push(encodeMessage(msg));
  }
  const decoder = new LineDecoder();
  decoder.on('data', (m: Message) => {
    if (m.type === 'R') pipeline.accept(toReading(m, 'bench0001', Date.now()));
  });

  const cpu0 = cpuMicros();
  const t0 = performance.now();
  for (let i = 0; i < READINGS; i += CHUNK) {
    decoder.write(Buffer.from(lines.slice(i, i + CHUNK).join('')));
    // Let the broker and the subscriber's socket drain between chunks, as a real link's pace would.
    await Promise.all(pending.splice(0));
    await new Promise((r) => setImmediate(r));
  }
  await allReceived;
  const elapsedS = (performance.now() - t0) / 1000;
  const cpu = cpuMicros() - cpu0;
  store.flush();

  emit({ bench: 'ingest', figure: 'readings_per_s', value: READINGS / elapsedS, unit: 'readings/s', readings: READINGS, sensors: SENSORS });
  emit({ bench: 'ingest', figure: 'cpu_per_reading', value: cpu / READINGS, unit: 'us/reading' });
  emit({ bench: 'ingest', figure: 'stored', value: store.stats().readings, unit: 'readings' });

  await client.endAsync();
  stopFlushing();
  await publisher.offline();
  await broker.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
}
