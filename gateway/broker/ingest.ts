import { EventEmitter } from 'node:events';
import type { Aedes, AedesPublishPacket } from 'aedes';
import { z } from 'zod';
import { systemClock, type Clock } from '../clock.ts';
import type { ReadingSource, SourceEvents } from '../sources/source.ts';
import type { Reading } from '../types.ts';
import { checkSensorId, topicsFor, type Topics } from './topics.ts';

/**
 * Readings published by network sensors on `<prefix>/ingest/<sensorId>` (docs/mqtt.md, "Ingest").
 * The payload is JSON; unknown fields are rejected, so a typo (`humdity`) is an error and not a
 * silently empty reading.
 */
export const IngestPayload = z.strictObject({
  /** Relative humidity, %RH. */
  humidity: z.number().min(0).max(100),
  /** Temperature, °C. */
  temperature: z.number().min(-40).max(125).optional(),
  /** Measurement time, ISO 8601 with a zone (Z or ±hh:mm); default: time of reception. */
  time: z.iso.datetime({ offset: true }).optional(),
  /** Per-boot sequence number; default: a per-sensor counter kept by the gateway. */
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  /** The sensor's boot id; default: one id per gateway run. */
  boot_id: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/).optional(),
});
export type IngestPayload = z.infer<typeof IngestPayload>;

/** Why an ingest payload was rejected; counted per reason and answered on `<prefix>/ingest/<id>/error`. */
export type IngestRejectReason = 'too_large' | 'not_json' | 'invalid_payload' | 'invalid_sensor_id';

export interface MqttIngestOptions {
  prefix: string;
  /** Larger payloads are rejected unread, in bytes. Default 1024 (a reading is ~100). */
  maxPayloadBytes?: number;
  /** Sensors given a gateway-side seq counter; more are still accepted but need their own `seq`. Default 1024. */
  maxCountedSensors?: number;
  /** Default systemClock. */
  clock?: Clock;
}

export const INGEST_DEFAULTS = { maxPayloadBytes: 1024, maxCountedSensors: 1024 } as const;

/**
 * A ReadingSource fed by the embedded broker: it subscribes in process (no socket) to
 * `<prefix>/ingest/+`. Valid payloads become 'reading' events and flow through the pipeline like
 * serial readings; invalid ones become 'rejected' events, are counted by reason and are answered
 * (not retained) on `<prefix>/ingest/<sensorId>/error` with `{reason, message}`. Link is 'up' while
 * subscribed.
 */
export class MqttIngestSource extends EventEmitter<SourceEvents> implements ReadingSource {
  readonly name = 'mqtt:ingest';
  private readonly topics: Topics;
  private readonly filter: string;
  private readonly clock: Clock;
  private readonly maxPayloadBytes: number;
  private readonly maxCountedSensors: number;
  private readonly counts: Record<string, number> = {};
  private readonly seqs = new Map<string, number>();
  private bootId = '';
  private startedMono = 0;
  private running = false;
  private readonly deliver = (packet: AedesPublishPacket, done: () => void): void => {
    try {
      this.handle(packet.topic, Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload));
    } finally {
      done();
    }
  };

  constructor(
    private readonly aedes: Pick<Aedes, 'subscribe' | 'unsubscribe' | 'publish'>,
    options: MqttIngestOptions,
  ) {
    super();
    this.topics = topicsFor(options.prefix);
    this.filter = this.topics.ingestFilter;
    this.clock = options.clock ?? systemClock;
    this.maxPayloadBytes = options.maxPayloadBytes ?? INGEST_DEFAULTS.maxPayloadBytes;
    this.maxCountedSensors = options.maxCountedSensors ?? INGEST_DEFAULTS.maxCountedSensors;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.startedMono = this.clock.monotonic();
    this.bootId = `mqtt-${this.clock.now().toString(36)}`;
    await new Promise<void>((resolve) => this.aedes.subscribe(this.filter, this.deliver, resolve));
    this.emit('link', 'up', `subscribed to ${this.filter}`);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await new Promise<void>((resolve) => this.aedes.unsubscribe(this.filter, this.deliver, resolve));
    this.emit('link', 'down', 'stopped');
  }

  rejectedCounts(): Record<string, number> {
    return { ...this.counts };
  }

  private handle(topic: string, payload: Buffer): void {
    if (!this.running) return;
    const sensorId = topic.slice(topic.lastIndexOf('/') + 1);
    const text = payload.length > this.maxPayloadBytes ? '' : payload.toString('utf8');
    if (payload.length > this.maxPayloadBytes) return this.reject(sensorId, 'too_large', `payload is ${payload.length} bytes, more than the limit of ${this.maxPayloadBytes}`, '');
    try {
      checkSensorId(sensorId);
    } catch (err) {
      return this.reject(sensorId, 'invalid_sensor_id', (err as Error).message, text);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      return this.reject(sensorId, 'not_json', `payload is not JSON: ${(err as Error).message}`, text);
    }
    const parsed = IngestPayload.safeParse(json);
    if (!parsed.success) {
      const detail = parsed.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`).join('; ');
      return this.reject(sensorId, 'invalid_payload', detail, text);
    }
    this.emit('reading', this.toReading(sensorId, parsed.data));
  }

  private toReading(sensorId: string, p: IngestPayload): Reading {
    const nowMs = this.clock.now();
    let seq = p.seq;
    if (seq === undefined) {
      const next = (this.seqs.get(sensorId) ?? -1) + 1;
      if (this.seqs.has(sensorId) || this.seqs.size < this.maxCountedSensors) this.seqs.set(sensorId, next);
      seq = next;
    }
    return {
      sensorId,
      bootId: p.boot_id ?? this.bootId,
      seq,
      uptimeMs: Math.round(this.clock.monotonic() - this.startedMono),
      wallTimeMs: p.time === undefined ? nowMs : Date.parse(p.time),
      rh: p.humidity,
      tempC: p.temperature ?? null,
      quality: [],
    };
  }

  private reject(sensorId: string, reason: IngestRejectReason, message: string, text: string): void {
    this.counts[reason] = (this.counts[reason] ?? 0) + 1;
    this.emit('rejected', reason, text.slice(0, 200));
    // The error topic echoes the topic level the client used; it is under ingest/, so never a gateway topic.
    const topic = `${this.topics.ingest(sensorId)}/error`;
    this.aedes.publish(
      { cmd: 'publish', topic, payload: Buffer.from(JSON.stringify({ reason, message }), 'utf8'), qos: 0, retain: false, dup: false },
      () => {},
    );
  }
}
