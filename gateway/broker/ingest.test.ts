import type { AedesPublishPacket, PublishPacket } from 'aedes';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../store/memory-store.ts';
import { ManualClock } from '../clock.ts';
import type { Reading } from '../types.ts';
import { startBroker } from './broker.ts';
import { MqttIngestSource } from './ingest.ts';

type Deliver = (packet: AedesPublishPacket, done: () => void) => void;

/** An in-memory stand-in for the Aedes subscribe/publish calls the source makes. */
function fakeAedes() {
  const subs = new Map<string, Deliver>();
  const published: Array<{ topic: string; payload: string; retain: boolean }> = [];
  return {
    subs,
    published,
    subscribe: (topic: string, fn: Deliver, cb: () => void) => (subs.set(topic, fn), cb()),
    unsubscribe: (topic: string, _fn: Deliver, cb: () => void) => (subs.delete(topic), cb()),
    publish: (p: PublishPacket, cb: (err?: Error) => void) => (published.push({ topic: p.topic, payload: String(p.payload), retain: p.retain }), cb()),
    send(topic: string, payload: string | Buffer): void {
      subs.get('hygrocast/ingest/+')!({ topic, payload: Buffer.from(payload) } as AedesPublishPacket, () => {});
    },
  };
}

async function setup(maxPayloadBytes?: number) {
  const aedes = fakeAedes();
  const clock = new ManualClock(Date.UTC(2026, 4, 1));
  const source = new MqttIngestSource(aedes, { prefix: 'hygrocast', clock, maxPayloadBytes });
  const readings: Reading[] = [];
  source.on('reading', (r) => readings.push(r));
  await source.start();
  return { aedes, clock, source, readings };
}

describe('MqttIngestSource', () => {
  it('turns valid payloads into readings, numbering seq per sensor when absent', async () => {
    const { aedes, clock, readings } = await setup();
    aedes.send('hygrocast/ingest/attic', '{"humidity": 50}');
    clock.advance(1000);
    aedes.send('hygrocast/ingest/attic', '{"humidity": 51.5, "temperature": -3}');
    aedes.send('hygrocast/ingest/porch', '{"humidity": 70}');
    expect(readings.map((r) => [r.sensorId, r.seq, r.rh, r.tempC])).toEqual([
      ['attic', 0, 50, null],
      ['attic', 1, 51.5, -3],
      ['porch', 0, 70, null],
    ]);
    expect(readings[1]).toMatchObject({ wallTimeMs: Date.UTC(2026, 4, 1) + 1000, uptimeMs: 1000, quality: [] });
    expect(readings[0]!.bootId).toMatch(/^mqtt-/);
  });

  it('gives every reading a key of its own across gateway restarts and device restarts, so none is dropped as a duplicate', async () => {
    const store = new MemoryStore();
    const runs: Array<Awaited<ReturnType<typeof setup>>> = [];
    const run = async (): Promise<Awaited<ReturnType<typeof setup>>> => {
      const r = await setup();
      r.source.on('reading', (reading) => store.append(reading));
      runs.push(r);
      return r;
    };
    // A device with a boot id but no seq, across two gateway runs: the gateway's counter restarts.
    const first = await run();
    for (const h of [41, 42, 43]) first.aedes.send('hygrocast/ingest/esp', JSON.stringify({ humidity: h, boot_id: 'esp1' }));
    await first.source.stop();
    const second = await run();
    for (const h of [55, 56, 57]) second.aedes.send('hygrocast/ingest/esp', JSON.stringify({ humidity: h, boot_id: 'esp1' }));
    // A device with its own seq but no boot id, restarting its count: 0, 1, 2, then 0, 1, 2, and 1 redelivered.
    for (const [i, seq] of [0, 1, 2, 0, 1, 1].entries()) second.aedes.send('hygrocast/ingest/tasmota', JSON.stringify({ humidity: 60 + i, seq }));
    store.flush();
    expect(store.recent('esp', Number.NEGATIVE_INFINITY, 100).map((r) => r.rh)).toEqual([41, 42, 43, 55, 56, 57]);
    expect(store.recent('tasmota', Number.NEGATIVE_INFINITY, 100).map((r) => r.rh)).toEqual([60, 61, 62, 63, 64]);
    expect(store.stats()).toMatchObject({ duplicates: 1 });
    for (const r of runs) await r.source.stop();
  });

  it('rejects and counts by reason, answering on the error topic (not retained)', async () => {
    const { aedes, source, readings } = await setup(64);
    aedes.send('hygrocast/ingest/attic', 'humid!');
    aedes.send('hygrocast/ingest/attic', '{"humidity": 50, "humdity": 1}');
    aedes.send('hygrocast/ingest/attic', '{"temperature": 20}');
    aedes.send('hygrocast/ingest/attic', '{"humidity": 50, "time": "yesterday"}');
    aedes.send('hygrocast/ingest/attic', JSON.stringify({ humidity: 50, boot_id: 'x'.repeat(80) }));
    aedes.send('hygrocast/ingest/bridge', '{"humidity": 50}');
    // A device whose clock was never set, reporting in a zone east of UTC: before 1970, which no
    // store or central server keeps.
    aedes.send('hygrocast/ingest/attic', '{"humidity": 50, "time": "1970-01-01T00:00:05+01:00"}');
    expect(readings).toEqual([]);
    expect(source.rejectedCounts()).toEqual({ not_json: 1, invalid_payload: 4, too_large: 1, invalid_sensor_id: 1 });
    expect(aedes.published.every((m) => !m.retain)).toBe(true);
    const answers = aedes.published.map((m) => [m.topic, (JSON.parse(m.payload) as { reason: string; message: string })] as const);
    expect(answers[1]![1].message).toMatch(/humdity/);
    expect(answers[2]![1].message).toMatch(/^humidity:/);
    expect(answers[3]![1].message).toMatch(/^time:/);
    expect(answers[5]![0]).toBe('hygrocast/ingest/bridge/error');
    expect(answers[6]![1].message).toBe('time: must be 1970-01-01T00:00:00Z or later');
  });

  it('stops listening on stop()', async () => {
    const { aedes, source } = await setup();
    await source.stop();
    expect(aedes.subs.size).toBe(0);
  });
});

describe('TLS listener options', () => {
  it('a missing certificate file stops the start with BROKER_INVALID_OPTION naming the setting', async () => {
    await expect(
      startBroker({ host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }), tls: { port: 0, certFile: '/nonexistent/cert.pem', keyFile: '/nonexistent/key.pem' } }),
    ).rejects.toMatchObject({ code: 'BROKER_INVALID_OPTION', message: expect.stringContaining('mqtt.tls.certFile') });
  });
});
