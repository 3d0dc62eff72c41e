import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../gateway/clock.ts';
import type { Reading } from '../gateway/types.ts';
import { BridgeError } from './errors.ts';
import { CMD_ID_MAX } from './messages.ts';
import type { AckMessage, CommandMessage, CommandName, Message, ReadingMessage } from './messages.ts';
import { encodeMessage } from './protocol.ts';
import { SeqTracker } from './seq-tracker.ts';

/** Boot id of readings that arrive before any `H` greeting (e.g. gateway restarted mid-boot). */
export const UNKNOWN_BOOT_ID = 'unknown';

/** Default bound on commands awaiting an ack; more are refused with ETOO_MANY_COMMANDS. */
export const DEFAULT_MAX_OUTSTANDING_COMMANDS = 8;

/** Converts a reading message to the gateway's Reading (status != 0 becomes `sensor_error`, values null). */
export function toReading(msg: ReadingMessage, bootId: string, wallTimeMs: number): Reading {
  const failed = msg.status !== 0;
  return {
    sensorId: msg.sensorId,
    bootId,
    seq: msg.seq,
    uptimeMs: msg.uptimeMs,
    wallTimeMs,
    rh: failed ? null : msg.rh,
    tempC: failed ? null : msg.tempC,
    quality: failed ? ['sensor_error'] : [],
  };
}

/**
 * Parses the payload of an `info` ack: space-separated key=value pairs (docs/protocol.md).
 * Unknown keys are kept, so newer firmware can add keys without breaking older gateways.
 */
export function parseInfo(payload: string): Record<string, string> {
  const info: Record<string, string> = {};
  for (const pair of payload.split(' ')) {
    const eq = pair.indexOf('=');
    if (eq > 0) info[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return info;
}

export interface SessionEvents {
  reading: [reading: Reading];
  /** A device greeting: a (re)boot with a new boot id. */
  hello: [bootId: string, firmware: string, sensorIds: string[]];
  /** Something the gateway should log but can live with (device `E` reports, stray acks). */
  warning: [message: string];
  /** Readings the device numbered that never arrived (a seq gap, seq-tracker.ts); `detail` names the boot. */
  lost: [count: number, detail: string];
  /**
   * The device's uptime went backwards without a greeting: it rebooted and its `H` was lost or
   * garbled. The boot id is unknown again; the transport should ask (`info`).
   */
  rebootUnseen: [previousBootId: string, detail: string];
}

/**
 * Uptime may step back this much within one boot without it counting as a reboot, ms: readings of
 * several sensors of one device can be stamped out of order by a few ms.
 */
const UPTIME_SLACK_MS = 1000;
/** A 32-bit millis() (AVR, ESP) wraps after 49.7 days: a drop from near 2^32 to near 0 is that wrap. */
const MILLIS_WRAP = 2 ** 32;
const WRAP_WINDOW_MS = 600_000;

interface Pending {
  resolve: (ack: AckMessage) => void;
  reject: (err: BridgeError) => void;
  timer: TimerHandle;
}

export interface BridgeSessionOptions {
  clock: Clock;
  /** Commands awaiting an ack at once. Default DEFAULT_MAX_OUTSTANDING_COMMANDS (8). */
  maxOutstandingCommands?: number;
}

/**
 * The gateway side of one device conversation, independent of the transport: turns decoded
 * messages into Readings (stamped with the clock at reception and the boot id of the last
 * greeting) and matches command acks to their callers. A transport feeds `handle` and supplies
 * a `write` function to `sendCommand`.
 */
export class BridgeSession extends EventEmitter<SessionEvents> {
  private bootId = UNKNOWN_BOOT_ID;
  /** Largest uptime seen in the current (known) boot, null when none yet. */
  private lastUptimeMs: number | null = null;
  private readonly seqs = new SeqTracker();
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly maxOutstanding: number;

  constructor(private readonly options: BridgeSessionOptions) {
    super();
    this.maxOutstanding = options.maxOutstandingCommands ?? DEFAULT_MAX_OUTSTANDING_COMMANDS;
    if (!Number.isInteger(this.maxOutstanding) || this.maxOutstanding < 1) {
      throw new BridgeError('EINVALID_OPTION', `maxOutstandingCommands must be an integer >= 1, got ${this.maxOutstanding}`);
    }
  }

  get currentBootId(): string {
    return this.bootId;
  }

  /**
   * Forgets the boot id: call on a new connection, because the device may have rebooted while
   * the link was down and its greeting is then lost. Readings carry "unknown" until a greeting
   * or adoptBootId tells the current one.
   */
  resetBootId(): void {
    this.bootId = UNKNOWN_BOOT_ID;
    this.lastUptimeMs = null;
    this.seqs.reconnected();
  }

  /** Takes the boot id learnt another way (the `boot=` key of an `info` ack) unless a greeting already told it. */
  adoptBootId(bootId: string): void {
    if (this.bootId !== UNKNOWN_BOOT_ID || !/^[0-9A-F]{8}$/.test(bootId)) return;
    this.bootId = bootId;
    this.lastUptimeMs = null;
    this.reportLost(this.seqs.bootKnown(bootId));
  }

  handle(msg: Message): void {
    switch (msg.type) {
      case 'R':
        this.checkUptime(msg.uptimeMs);
        this.reportLost(this.seqs.observe(this.knownBoot(), msg.seq, 'reading'));
        this.emit('reading', toReading(msg, this.bootId, this.options.clock.now()));
        return;
      case 'H':
        this.bootId = msg.bootId;
        this.lastUptimeMs = null;
        this.seqs.greeted(msg.bootId);
        this.emit('hello', msg.bootId, msg.firmware, msg.sensorIds);
        return;
      case 'A':
        this.settle(msg);
        return;
      case 'E':
        this.emit('warning', `device error ${msg.code}: ${msg.text}`);
        return;
      case 'C':
        this.emit('warning', `ignored a command (id ${msg.id}) sent by the device; commands flow gateway to device`);
        return;
      case 'B':
        // Liveness (the transport's data timeout already saw it arrive), and the seq of the next reading.
        this.checkUptime(msg.uptimeMs);
        this.reportLost(this.seqs.observe(this.knownBoot(), msg.seq, 'heartbeat'));
        return;
    }
  }

  /**
   * A known boot whose uptime goes backwards has ended: the device rebooted and its greeting never
   * arrived. Without this, the new boot's readings would carry the old boot id and, with seqs
   * from 0 again, be dropped by the store as duplicates of the old boot's.
   */
  private checkUptime(uptimeMs: number): void {
    const last = this.lastUptimeMs;
    const known = this.bootId !== UNKNOWN_BOOT_ID;
    this.lastUptimeMs = Math.max(last ?? 0, uptimeMs);
    if (!known || last === null || uptimeMs + UPTIME_SLACK_MS >= last) return;
    const wrapped = last >= MILLIS_WRAP - WRAP_WINDOW_MS && uptimeMs < WRAP_WINDOW_MS;
    if (wrapped) {
      this.lastUptimeMs = uptimeMs;
      return;
    }
    const previous = this.bootId;
    this.resetBootId();
    this.lastUptimeMs = uptimeMs;
    this.emit('rebootUnseen', previous, `uptime went back from ${last} to ${uptimeMs} ms without a greeting: boot ${previous} ended`);
  }

  private knownBoot(): string | null {
    return this.bootId === UNKNOWN_BOOT_ID ? null : this.bootId;
  }

  private reportLost(count: number): void {
    if (count > 0) this.emit('lost', count, `${count} reading${count === 1 ? '' : 's'} of boot ${this.bootId} never arrived (seq gap)`);
  }

  /**
   * Sends a command through `write` and resolves with the `ok` ack. Rejects (never throws) with
   * BridgeError: ETIMEDOUT after `timeoutMs` without an ack, ECOMMAND_REFUSED on an `err` ack,
   * ETOO_MANY_COMMANDS at the outstanding bound, EINVALID_MESSAGE for an argument v1 cannot carry,
   * or whatever `write` throws.
   */
  sendCommand(name: CommandName, arg: number | null, timeoutMs: number, write: (msg: CommandMessage) => void): Promise<AckMessage> {
    return new Promise<AckMessage>((resolve, reject) => {
      if (this.pending.size >= this.maxOutstanding) {
        reject(new BridgeError('ETOO_MANY_COMMANDS', `${this.pending.size} commands already await an ack (limit ${this.maxOutstanding})`));
        return;
      }
      const msg: CommandMessage = { type: 'C', id: this.allocateId(), name, arg };
      try {
        encodeMessage(msg);
        write(msg);
      } catch (err) {
        reject(err);
        return;
      }
      const timer = this.options.clock.setTimeout(() => {
        this.pending.delete(msg.id);
        reject(new BridgeError('ETIMEDOUT', `command "${name}" (id ${msg.id}) got no ack within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(msg.id, { resolve, reject, timer });
    });
  }

  /** Rejects every outstanding command with `code` (link lost, source stopped). */
  failAll(code: 'ESTOPPED' | 'ENOT_CONNECTED', reason: string): void {
    for (const [id, p] of this.pending) {
      this.options.clock.clearTimeout(p.timer);
      p.reject(new BridgeError(code, `command id ${id} abandoned: ${reason}`));
    }
    this.pending.clear();
  }

  outstandingCommands(): number {
    return this.pending.size;
  }

  private settle(ack: AckMessage): void {
    const p = this.pending.get(ack.id);
    if (!p) {
      this.emit('warning', `ack for unknown or expired command id ${ack.id}`);
      return;
    }
    this.pending.delete(ack.id);
    this.options.clock.clearTimeout(p.timer);
    if (ack.ok) p.resolve(ack);
    else p.reject(new BridgeError('ECOMMAND_REFUSED', `device refused command id ${ack.id}: ${ack.payload}`));
  }

  private allocateId(): number {
    const id = this.nextId;
    this.nextId = id >= CMD_ID_MAX ? 1 : id + 1;
    return id;
  }
}
