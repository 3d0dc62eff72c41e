import { Transform } from 'node:stream';
import type { TransformCallback, TransformOptions } from 'node:stream';
import { MAX_LINE_BYTES, REJECT_REASONS } from './messages.ts';
import type { Message, RejectReason } from './messages.ts';
import { decodeLine, encodeMessage } from './protocol.ts';

/** Characters of a rejected line carried in the `rejected` event (bounded so logs stay small). */
export const REJECT_EXCERPT_CHARS = 80;

const NEWLINE = 0x0a;

export interface LineDecoderOptions {
  /** Longest line accepted, in bytes without terminator. Default MAX_LINE_BYTES (256), the protocol limit. */
  maxLineBytes?: number;
  /** Decoded messages buffered toward a slow reader before the writer is paused. Default 64. */
  highWaterMark?: number;
}

/**
 * Bytes in, protocol messages out (objectMode). Splits lines itself so a line longer than
 * `maxLineBytes` is dropped as it streams in (memory stays at one line), then decodes each line.
 * A refused line never errors or ends the stream: it is counted by reason and announced as
 * `rejected` (reason, excerpt), and decoding resumes at the next newline. Empty lines are ignored
 * (protocol: a sender may emit a bare "\n" to resynchronise). Bytes map 1:1 to characters
 * (latin1), so any non-ASCII byte makes its line `unparsable` instead of being reinterpreted.
 *
 * Events: 'data' (Message), 'rejected' (reason: RejectReason, excerpt: string).
 */
export class LineDecoder extends Transform {
  private readonly maxLineBytes: number;
  private readonly counters: Record<RejectReason, number> = emptyCounts();
  private partial: Buffer = Buffer.alloc(0);
  /** True while dropping the rest of an over-long line, up to its newline. */
  private discarding = false;

  constructor(options: LineDecoderOptions = {}) {
    super({ readableObjectMode: true, readableHighWaterMark: options.highWaterMark ?? 64 } satisfies TransformOptions);
    this.maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
  }

  /** Rejected lines by reason since construction (every reason present, zero when none). */
  counts(): Record<RejectReason, number> {
    return { ...this.counters };
  }

  override _transform(chunk: Buffer | string, _enc: BufferEncoding, done: TransformCallback): void {
    let bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    for (let nl = bytes.indexOf(NEWLINE); nl !== -1; nl = bytes.indexOf(NEWLINE)) {
      this.append(bytes.subarray(0, nl));
      this.endLine();
      bytes = bytes.subarray(nl + 1);
    }
    this.append(bytes);
    done();
  }

  override _flush(done: TransformCallback): void {
    // A final line without terminator is still a line: a device may be cut off mid-line.
    if (this.partial.length > 0 || this.discarding) this.endLine();
    done();
  }

  private append(bytes: Buffer): void {
    if (this.discarding || bytes.length === 0) return;
    // +1 leaves room for the "\r" of a "\r\n" terminator on a line of exactly the limit.
    if (this.partial.length + bytes.length > this.maxLineBytes + 1) {
      const excerpt = Buffer.concat([this.partial, bytes]).subarray(0, REJECT_EXCERPT_CHARS).toString('latin1');
      this.partial = Buffer.alloc(0);
      this.discarding = true;
      this.reject('too_long', excerpt);
      return;
    }
    this.partial = this.partial.length === 0 ? Buffer.from(bytes) : Buffer.concat([this.partial, bytes]);
  }

  private endLine(): void {
    if (this.discarding) {
      this.discarding = false;
      return;
    }
    let line = this.partial.toString('latin1');
    this.partial = Buffer.alloc(0);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.length === 0) return;
    const result = decodeLine(line);
    if (result.ok) this.push(result.message);
    else this.reject(result.rejection.reject, line.slice(0, REJECT_EXCERPT_CHARS));
  }

  private reject(reason: RejectReason, excerpt: string): void {
    this.counters[reason] += 1;
    this.emit('rejected', reason, excerpt);
  }
}

function emptyCounts(): Record<RejectReason, number> {
  return Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
}

/**
 * Protocol messages in (objectMode), bytes out: one "\n"-terminated line per message.
 * A message protocol v1 cannot carry fails the write with BridgeError EINVALID_MESSAGE
 * (the stream's one error route) instead of putting a bad line on the wire.
 */
export class LineEncoder extends Transform {
  constructor(options: { highWaterMark?: number } = {}) {
    super({ writableObjectMode: true, writableHighWaterMark: options.highWaterMark ?? 64 });
  }

  override _transform(msg: Message, _enc: BufferEncoding, done: TransformCallback): void {
    let line: string;
    try {
      line = encodeMessage(msg);
    } catch (err) {
      done(err as Error);
      return;
    }
    done(null, Buffer.from(line, 'latin1'));
  }
}
