import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import type { Clock, TimerHandle } from '../gateway/clock.ts';
import type { Message } from '../firmware-bridge/messages.ts';
import { encodeMessage } from '../firmware-bridge/protocol.ts';
import { Prng } from './prng.ts';

/**
 * Fault injection for the simulated device's output, to rehearse what real links do:
 * probabilities are per message and drawn from a seeded PRNG, so a fault run is reproducible.
 * Unplugging is not here: it needs the pty itself to vanish, which the CLI does (device-sim/cli.ts).
 */
export interface FaultOptions {
  /** Probability of a line of random bytes before a message. Default 0. */
  garbageRate?: number;
  /** Probability that a line's CRC is wrong (one hex digit changed). Default 0. */
  badCrcRate?: number;
  /** Probability that a line is cut short (its terminator still sent, as after a brown-out). Default 0. */
  truncateRate?: number;
  /** Probability that a reading is not sent at all (the seq then has a hole). Default 0. */
  dropoutRate?: number;
  /** From this many readings on, every sensor repeats its last RH forever (a stuck sensor). Default never. */
  stuckAfterReadings?: number;
  /** PRNG seed. Default 1. */
  seed?: number;
  /** A slow link: output trickled at this many bytes per second, 16 bytes per tick. Default unpaced. */
  slowBytesPerS?: number;
  /** Clock for the slow link's pacing. Required with slowBytesPerS. */
  clock?: Clock;
}

export const FAULT_KINDS = ['garbage', 'bad_crc', 'truncated', 'dropout', 'stuck'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

const GARBAGE_MAX_BYTES = 64;

/**
 * Messages in (objectMode), bytes out, like LineEncoder, with faults applied. `counts()` says how
 * many of each were injected, so a test can check the gateway's reject counters against it.
 * A message protocol v1 cannot carry fails the stream (its one error route), as LineEncoder does.
 */
export class FaultInjector extends Transform {
  private readonly rng: Prng;
  private readonly injected: Record<FaultKind, number> = { garbage: 0, bad_crc: 0, truncated: 0, dropout: 0, stuck: 0 };
  private readings = 0;
  private readonly stuckRh = new Map<string, number | null>();
  private readonly pacer: Pacer | null;

  constructor(private readonly options: FaultOptions = {}) {
    super({ writableObjectMode: true });
    const { slowBytesPerS, clock } = options;
    if (slowBytesPerS !== undefined && clock === undefined) throw Object.assign(new RangeError('slowBytesPerS needs a clock'), { code: 'EINVALID_OPTION' });
    this.pacer = slowBytesPerS === undefined || clock === undefined ? null : new Pacer(slowBytesPerS, 16, clock);
    for (const key of ['garbageRate', 'badCrcRate', 'truncateRate', 'dropoutRate'] as const) {
      const p = options[key] ?? 0;
      if (!(p >= 0 && p <= 1)) throw Object.assign(new RangeError(`${key} must be a probability in [0, 1], got ${p}`), { code: 'EINVALID_OPTION' });
    }
    this.rng = new Prng(options.seed ?? 1);
  }

  counts(): Record<FaultKind, number> {
    return { ...this.injected };
  }

  override _transform(msg: Message, _enc: BufferEncoding, done: TransformCallback): void {
    let line: string;
    try {
      line = encodeMessage(this.maybeStuck(msg));
    } catch (err) {
      done(err as Error);
      return;
    }
    if (msg.type === 'R' && this.chance(this.options.dropoutRate, 'dropout')) return done();
    const garbage = this.chance(this.options.garbageRate, 'garbage') ? this.garbage() : Buffer.alloc(0);
    if (this.chance(this.options.badCrcRate, 'bad_crc')) line = corruptCrc(line);
    else if (this.chance(this.options.truncateRate, 'truncated')) line = `${line.slice(0, this.rng.int(1, line.length - 8))}\n`;
    const bytes = Buffer.concat([garbage, Buffer.from(line, 'latin1')]);
    if (this.pacer) this.pacer.send(bytes, (b) => this.push(b), done);
    else done(null, bytes);
  }

  override _destroy(err: Error | null, done: (error?: Error | null) => void): void {
    this.pacer?.cancel();
    done(err);
  }

  private maybeStuck(msg: Message): Message {
    if (msg.type !== 'R') return msg;
    this.readings += 1;
    const after = this.options.stuckAfterReadings;
    if (after === undefined || this.readings <= after || msg.rh === null) return msg;
    if (!this.stuckRh.has(msg.sensorId)) this.stuckRh.set(msg.sensorId, msg.rh);
    this.injected.stuck += 1;
    return { ...msg, rh: this.stuckRh.get(msg.sensorId) ?? msg.rh };
  }

  private chance(p: number | undefined, kind: FaultKind): boolean {
    if (!p || this.rng.next() >= p) return false;
    this.injected[kind] += 1;
    return true;
  }

  /** Random bytes starting with a control byte, never "\n" or "\r", then "\n": exactly one unparsable line. */
  private garbage(): Buffer {
    const out = Buffer.alloc(this.rng.int(1, GARBAGE_MAX_BYTES) + 1);
    for (let i = 0; i < out.length - 1; i++) {
      let b = this.rng.int(0, 255);
      while (b === 0x0a || b === 0x0d) b = this.rng.int(0, 255);
      out[i] = b;
    }
    out[0] = 0x01; // never a bare "$...": a garbage line must not pass for a frame by chance
    out[out.length - 1] = 0x0a;
    return out;
  }
}

/** Changes the last CRC digit to another hex digit, so the line is well formed but fails its check. */
function corruptCrc(line: string): string {
  const at = line.length - 2; // before "\n"
  const digit = line[at] ?? '0';
  const other = digit === '0' ? '1' : '0';
  return `${line.slice(0, at)}${other}\n`;
}

/** Sends bytes `chunkBytes` at a time, paced to `bytesPerS` on the clock (one outstanding send at a time). */
class Pacer {
  private readonly tickMs: number;
  private timer: TimerHandle | null = null;

  constructor(
    bytesPerS: number,
    private readonly chunkBytes: number,
    private readonly clock: Clock,
  ) {
    if (!(bytesPerS > 0) || !(chunkBytes >= 1)) throw Object.assign(new RangeError(`bytesPerS and chunkBytes must be > 0, got ${bytesPerS}, ${chunkBytes}`), { code: 'EINVALID_OPTION' });
    this.tickMs = (1000 * chunkBytes) / bytesPerS;
  }

  send(bytes: Buffer, push: (chunk: Buffer) => void, done: () => void): void {
    if (bytes.length === 0) return done();
    push(bytes.subarray(0, this.chunkBytes));
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.send(bytes.subarray(this.chunkBytes), push, done);
    }, this.tickMs);
  }

  cancel(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}

export interface TrickleOptions {
  /** Link speed, in bytes per second (a weak radio link or a slow UART). Must be > 0. */
  bytesPerS: number;
  clock: Clock;
  /** Bytes sent per tick; the tick interval follows from bytesPerS. Default 16. */
  chunkBytes?: number;
  /** Bytes held before the writer is paused (backpressure, not dropping). Default 4096. */
  highWaterMarkBytes?: number;
}

/**
 * A slow link for any byte stream: passes bytes through unchanged but only `chunkBytes` at a
 * time, paced to `bytesPerS`, so lines arrive in pieces and late, as on a real slow serial link.
 */
export class Trickle extends Transform {
  private readonly pacer: Pacer;

  constructor(options: TrickleOptions) {
    super({ highWaterMark: options.highWaterMarkBytes ?? 4096 });
    this.pacer = new Pacer(options.bytesPerS, options.chunkBytes ?? 16, options.clock);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.pacer.send(chunk, (b) => this.push(b), () => done());
  }

  override _destroy(err: Error | null, done: (error?: Error | null) => void): void {
    this.pacer.cancel();
    done(err);
  }
}
