import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../gateway/clock.ts';
import {
  CAL_MAX_RH,
  CAL_MIN_RH,
  INTERVAL_MAX_MS,
  INTERVAL_MIN_MS,
  MAX_SENSORS_PER_DEVICE,
  SEQ_MAX,
  STATUS,
} from '../firmware-bridge/messages.ts';
import type { CommandMessage, Message } from '../firmware-bridge/messages.ts';
import { Prng } from './prng.ts';
import { HumiditySignal } from './signal.ts';

const SENSOR_ID = /^[A-Za-z0-9_-]{1,32}$/;

export interface SimulatedDeviceOptions {
  /** Sensor ids this device reports (1..8, [A-Za-z0-9_-]{1,32}). */
  sensorIds: string[];
  clock: Clock;
  /** Time between readings of each sensor, in ms. Default 1000. Values below 100 are for tests only. */
  intervalMs?: number;
  /**
   * A heartbeat goes out after this long without any other message, in ms. Default 2000, as the
   * reference firmware: well inside the gateway's default 5 s data timeout at any reading interval.
   */
  heartbeatMs?: number;
  /** Seed of the signal and of boot ids. Default 1. */
  seed?: number;
  /** Delay between acking `reboot` and the new greeting, in ms. Default 100 (a real MCU resets in about that). */
  rebootDelayMs?: number;
  /** Probability in [0, 1] that a reading reports status 1 (read failed). Default 0. */
  failureRate?: number;
  firmware?: string;
  model?: string;
}

export interface SimulatedDeviceEvents {
  /** A message the device sends to the gateway, in order. */
  message: [msg: Message];
}

/**
 * A complete fake of the sensor firmware at the message level: greets with `H` on boot, sends an
 * `R` per sensor every interval and a `B` heartbeat after `heartbeatMs` of silence, and answers `C` commands
 * with `A` acks (interval, info, cal, reboot: new boot id, seq from 0). Transport-free: wire it to
 * bytes with connectDevice (wire.ts), which goes through the real LineEncoder/LineDecoder.
 * All timing comes from the injected clock; device uptime is clock.monotonic() since boot.
 */
export class SimulatedDevice extends EventEmitter<SimulatedDeviceEvents> {
  private readonly clock: Clock;
  private readonly rng: Prng;
  private readonly signals: HumiditySignal[];
  private readonly heartbeatMs: number;
  private readonly rebootDelayMs: number;
  private readonly failureRate: number;
  private readonly firmware: string;
  private readonly model: string;
  private intervalMs: number;
  private calRh = 0;
  private seq = 0;
  private bootMono = 0;
  private bootId = '';
  private timers: TimerHandle[] = [];
  private heartbeat: TimerHandle | null = null;
  private running = false;

  constructor(readonly options: SimulatedDeviceOptions) {
    super();
    const ids = options.sensorIds;
    if (ids.length < 1 || ids.length > MAX_SENSORS_PER_DEVICE) throw new RangeError(`sensorIds must list 1..${MAX_SENSORS_PER_DEVICE} ids, got ${ids.length}`);
    const badId = ids.find((id) => !SENSOR_ID.test(id));
    if (badId !== undefined) throw new RangeError(`sensor id "${badId}" is not 1-32 characters of A-Z, a-z, 0-9, _ and -`);
    this.clock = options.clock;
    this.intervalMs = positive('intervalMs', options.intervalMs ?? 1000);
    this.heartbeatMs = positive('heartbeatMs', options.heartbeatMs ?? 2000);
    this.rebootDelayMs = options.rebootDelayMs ?? 100;
    this.failureRate = options.failureRate ?? 0;
    if (!(this.failureRate >= 0 && this.failureRate <= 1)) throw new RangeError(`failureRate must be in [0, 1], got ${this.failureRate}`);
    const seed = options.seed ?? 1;
    this.rng = new Prng(seed ^ 0x5eed);
    this.signals = ids.map((_, i) => new HumiditySignal({ seed: seed * 1000 + i, meanRh: 50 + 5 * i }));
    this.firmware = options.firmware ?? '1.0.0-sim';
    this.model = options.model ?? 'SIM';
  }

  get currentBootId(): string {
    return this.bootId;
  }

  /** Powers the device on: greeting now, first readings one interval later. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.boot();
  }

  /** Powers the device off: no further messages. */
  stop(): void {
    this.running = false;
    this.clearTimers();
    if (this.heartbeat !== null) this.clock.clearTimeout(this.heartbeat);
    this.heartbeat = null;
  }

  /** Receives a message from the gateway; only commands are meaningful to a device. */
  handle(msg: Message): void {
    if (msg.type === 'C' && this.running) this.command(msg);
  }

  private boot(): void {
    this.clearTimers();
    this.bootId = this.rng.int(0, 0xffffffff).toString(16).toUpperCase().padStart(8, '0');
    this.bootMono = this.clock.monotonic();
    this.seq = 0;
    this.send({ type: 'H', firmware: this.firmware, model: this.model, bootId: this.bootId, sensorIds: [...this.options.sensorIds] });
    this.schedule();
  }

  private schedule(): void {
    this.clearTimers();
    this.timers.push(this.clock.setInterval(() => this.measure(), this.intervalMs));
  }

  private measure(): void {
    const now = this.clock.now();
    this.options.sensorIds.forEach((sensorId, i) => {
      const signal = this.signals[i];
      if (!signal) return;
      const { rh, tempC } = signal.sample(now);
      const failed = this.failureRate > 0 && this.rng.next() < this.failureRate;
      this.send({
        type: 'R',
        sensorId,
        seq: this.seq,
        uptimeMs: this.uptime(),
        rh: failed ? null : Math.min(100, Math.max(0, rh + this.calRh)),
        tempC: failed ? null : tempC,
        status: failed ? STATUS.readFailed : STATUS.ok,
      });
      // uint32 on the wire, like the firmware's counter.
      this.seq = this.seq >= SEQ_MAX ? 0 : this.seq + 1;
    });
  }

  private command(cmd: CommandMessage): void {
    const ack = (ok: boolean, payload: string): void => this.send({ type: 'A', id: cmd.id, ok, payload });
    switch (cmd.name) {
      case 'info':
        ack(true, `fw=${this.firmware} model=${this.model} boot=${this.bootId} interval=${this.intervalMs} cal=${this.calRh.toFixed(2)} sensors=${this.options.sensorIds.join(';')}`);
        return;
      case 'interval':
        if (cmd.arg === null || cmd.arg < INTERVAL_MIN_MS || cmd.arg > INTERVAL_MAX_MS) return ack(false, `interval must be ${INTERVAL_MIN_MS}..${INTERVAL_MAX_MS} ms`);
        this.intervalMs = cmd.arg;
        this.schedule();
        return ack(true, `interval=${cmd.arg}`);
      case 'cal':
        if (cmd.arg === null || cmd.arg < CAL_MIN_RH || cmd.arg > CAL_MAX_RH) return ack(false, `cal must be ${CAL_MIN_RH}..${CAL_MAX_RH} %RH`);
        this.calRh = cmd.arg;
        return ack(true, `cal=${cmd.arg.toFixed(2)}`);
      case 'reboot':
        ack(true, 'rebooting');
        this.clearTimers();
        this.timers.push(this.clock.setTimeout(() => this.boot(), this.rebootDelayMs));
        return;
    }
  }

  private send(msg: Message): void {
    if (!this.running) return;
    this.emit('message', msg);
    // Silence is what a heartbeat fills: every message restarts its countdown.
    if (this.heartbeat !== null) this.clock.clearTimeout(this.heartbeat);
    this.heartbeat = this.clock.setTimeout(() => {
      this.heartbeat = null;
      this.send({ type: 'B', uptimeMs: this.uptime(), seq: this.seq });
    }, this.heartbeatMs);
  }

  private uptime(): number {
    return Math.max(0, Math.round(this.clock.monotonic() - this.bootMono));
  }

  private clearTimers(): void {
    for (const t of this.timers) this.clock.clearInterval(t);
    this.timers = [];
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number of ms, got ${value}`);
  return value;
}
