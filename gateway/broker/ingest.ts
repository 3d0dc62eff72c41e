import { EventEmitter } from 'node:events';
import type { Aedes, AedesPublishPacket } from 'aedes';
import { z } from 'zod';
import { RH_MAX, RH_MIN, TEMP_MAX_C, TEMP_MIN_C } from '../../firmware-bridge/messages.ts';
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
  humidity: z.number().min(RH_MIN).max(RH_MAX),
  /** Temperature, °C. */
  temperature: z.number().min(TEMP_MIN_C).max(TEMP_MAX_C).optional(),
  /** Measurement time, ISO 8601 with a zone (Z or ±hh:mm); default: time of reception. */
  time: z.iso
    .datetime({ offset: true })
    .refine((t) => Date.parse(t) >= 0, 'must be 1970-01-01T00:00:00Z or later')
    .optional(),
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

/** Starts of InProcessMqttSource in this process, for distinct boot ids. */
let nextStart = 0;

/** What a subclass hands InProcessMqttSource.reading() for one payload. */
export interface PayloadReading {
  humidity: number;
  temperature?: number | null;
  /** Measurement time, ms; default the time of reception. */
  timeMs?: number;
  /** Per-boot sequence; default a per-sensor counter of this source. */
  seq?: number;
  bootId?: string;
}

/**
 * A ReadingSource fed by the embedded broker through an in-process subscription (no socket) to
 * one topic filter: the mechanics shared by `<prefix>/ingest/+` (MqttIngestSource) and sensors on
 * their own topics (MqttTopicSource, topic-source.ts). Link is 'up' while subscribed. Payloads
 * reach handle(); rejections are counted by reason.
 */
export abstract class InProcessMqttSource extends EventEmitter<SourceEvents> implements ReadingSource {
  abstract readonly name: string;
  protected readonly clock: Clock;
  protected readonly maxPayloadBytes: number;
  private readonly maxCountedSensors: number;
  private readonly counts: Record<string, number> = {};
  private readonly seqs = new Map<string, number>();
  /** Per sensor sending its own seq without a boot id: the last seq and the boot id given to it. */
  private readonly deviceSeqs = new Map<string, { seq: number; bootId: string }>();
  private restarts = 0;
  private bootId = '';
  private startedMono = 0;
  private running = false;
  private readonly deliver = (packet: AedesPublishPacket, done: () => void): void => {
    try {
      if (this.running) this.handle(packet.topic, Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload));
    } finally {
      done();
    }
  };

  constructor(
    protected readonly aedes: Pick<Aedes, 'subscribe' | 'unsubscribe' | 'publish'>,
    protected readonly filter: string,
    options: { maxPayloadBytes?: number | undefined; maxCountedSensors?: number | undefined; clock?: Clock | undefined },
  ) {
    super();
    this.clock = options.clock ?? systemClock;
    this.maxPayloadBytes = options.maxPayloadBytes ?? INGEST_DEFAULTS.maxPayloadBytes;
    this.maxCountedSensors = options.maxCountedSensors ?? INGEST_DEFAULTS.maxCountedSensors;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.startedMono = this.clock.monotonic();
    // Unique per source and start, so two sources that both name a sensor (two topic patterns,
    // or a pattern and the ingest topic) never number its readings into the same (boot, seq).
    this.bootId = `mqtt-${this.clock.now().toString(36)}-${nextStart++}`;
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

  /** One message on the filter, while running. */
  protected abstract handle(topic: string, payload: Buffer): void;

  /**
   * The checks every payload passes first: its size, the sensor id its topic gives, and JSON.
   * Returns the parsed JSON, or why the message is refused (`text` is empty for an unread payload).
   */
  protected decode(sensorId: string, payload: Buffer): { json: unknown; text: string } | { reason: 'too_large' | 'invalid_sensor_id' | 'not_json'; message: string; text: string } {
    if (payload.length > this.maxPayloadBytes) return { reason: 'too_large', message: `payload is ${payload.length} bytes, more than the limit of ${this.maxPayloadBytes}`, text: '' };
    const text = payload.toString('utf8');
    try {
      checkSensorId(sensorId);
    } catch (err) {
      return { reason: 'invalid_sensor_id', message: (err as Error).message, text };
    }
    try {
      return { json: JSON.parse(text) as unknown, text };
    } catch (err) {
      return { reason: 'not_json', message: `payload is not JSON: ${(err as Error).message}`, text };
    }
  }

  protected count(reason: string): void {
    this.counts[reason] = (this.counts[reason] ?? 0) + 1;
  }

  /**
   * The reading of a payload, uptime from this source's start. Its identity (boot id, seq) must be
   * new for every reading, or the store drops it as a duplicate:
   * - no seq: this source numbers the sensor's readings, under this source's own boot id (a
   *   device's boot_id with the gateway's counter would repeat keys after a gateway restart);
   * - seq without boot_id: the device's seq, under a boot id of this source that changes when the
   *   seq goes back (the device restarted its count); the same seq again is a redelivery;
   * - both: the device's own identity.
   */
  protected reading(sensorId: string, p: PayloadReading): Reading {
    let seq = p.seq;
    let bootId = p.bootId;
    if (seq === undefined) {
      const next = (this.seqs.get(sensorId) ?? -1) + 1;
      if (this.seqs.has(sensorId) || this.seqs.size < this.maxCountedSensors) this.seqs.set(sensorId, next);
      seq = next;
      bootId = this.bootId;
    } else if (bootId === undefined) {
      bootId = this.deviceBoot(sensorId, seq);
    }
    return {
      sensorId,
      bootId,
      seq,
      uptimeMs: Math.round(this.clock.monotonic() - this.startedMono),
      wallTimeMs: p.timeMs ?? this.clock.now(),
      rh: p.humidity,
      tempC: p.temperature ?? null,
      quality: [],
    };
  }

  private deviceBoot(sensorId: string, seq: number): string {
    const last = this.deviceSeqs.get(sensorId);
    const bootId = last === undefined ? this.bootId : seq < last.seq ? `${this.bootId}-r${++this.restarts}` : last.bootId;
    if (last !== undefined || this.deviceSeqs.size < this.maxCountedSensors) this.deviceSeqs.set(sensorId, { seq, bootId });
    return bootId;
  }
}

/**
 * `<prefix>/ingest/+`. Valid payloads become 'reading' events and flow through the pipeline like
 * serial readings; invalid ones become 'rejected' events, are counted by reason and are answered
 * (not retained) on `<prefix>/ingest/<sensorId>/error` with `{reason, message}`.
 */
export class MqttIngestSource extends InProcessMqttSource {
  readonly name = 'mqtt:ingest';
  private readonly topics: Topics;

  constructor(aedes: Pick<Aedes, 'subscribe' | 'unsubscribe' | 'publish'>, options: MqttIngestOptions) {
    const topics = topicsFor(options.prefix);
    super(aedes, topics.ingestFilter, options);
    this.topics = topics;
  }

  protected handle(topic: string, payload: Buffer): void {
    const sensorId = topic.slice(topic.lastIndexOf('/') + 1);
    const decoded = this.decode(sensorId, payload);
    if ('reason' in decoded) return this.reject(sensorId, decoded.reason, decoded.message, decoded.text);
    const { json, text } = decoded;
    const parsed = IngestPayload.safeParse(json);
    if (!parsed.success) {
      const detail = parsed.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`).join('; ');
      return this.reject(sensorId, 'invalid_payload', detail, text);
    }
    const p = parsed.data;
    this.emit(
      'reading',
      this.reading(sensorId, {
        humidity: p.humidity,
        temperature: p.temperature ?? null,
        ...(p.time === undefined ? {} : { timeMs: Date.parse(p.time) }),
        ...(p.seq === undefined ? {} : { seq: p.seq }),
        ...(p.boot_id === undefined ? {} : { bootId: p.boot_id }),
      }),
    );
  }

  private reject(sensorId: string, reason: IngestRejectReason, message: string, text: string): void {
    this.count(reason);
    this.emit('rejected', reason, text.slice(0, 200));
    // The error topic echoes the topic level the client used; it is under ingest/, so never a gateway topic.
    const topic = `${this.topics.ingest(sensorId)}/error`;
    this.aedes.publish(
      { cmd: 'publish', topic, payload: Buffer.from(JSON.stringify({ reason, message }), 'utf8'), qos: 0, retain: false, dup: false },
      () => {},
    );
  }
}
