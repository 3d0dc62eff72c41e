import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { checkOverload, DEFAULT_MAX_BUFFERED_BYTES, DEFAULT_MAX_QUEUED_MESSAGES } from './backpressure.ts';
import type { Overload } from './backpressure.ts';
import { ClientChannel } from './client-channel.ts';
import type { ChannelSocket } from './client-channel.ts';

const limits = { maxBufferedBytes: 100, maxQueuedMessages: 3 };

describe('checkOverload', () => {
  it('passes a client within both bounds', () => {
    expect(checkOverload(100, 2, limits)).toBeNull();
    expect(checkOverload(0, 0, { maxBufferedBytes: DEFAULT_MAX_BUFFERED_BYTES, maxQueuedMessages: DEFAULT_MAX_QUEUED_MESSAGES })).toBeNull();
  });

  it('flags bytes above the byte bound', () => {
    expect(checkOverload(101, 0, limits)).toBe('buffered_bytes');
  });

  it('flags a queue that one more message would push past the bound', () => {
    expect(checkOverload(0, 3, limits)).toBe('queued_messages');
  });

  it('has the documented defaults', () => {
    expect(DEFAULT_MAX_BUFFERED_BYTES).toBe(1024 * 1024);
    expect(DEFAULT_MAX_QUEUED_MESSAGES).toBe(1000);
  });
});

/** A socket whose writes complete only when the test says so. */
class FakeSocket implements ChannelSocket {
  bufferedAmount = 0;
  readyState = 1;
  sent: string[] = [];
  pending: (() => void)[] = [];
  closedWith: [number, string] | null = null;
  terminated = false;

  send(data: string, cb: (err?: Error) => void): void {
    this.sent.push(data);
    this.pending.push(() => cb());
  }

  close(code: number, reason: string): void {
    this.closedWith = [code, reason];
    this.readyState = 2;
  }

  terminate(): void {
    this.terminated = true;
    this.readyState = 3;
  }

  completeWrites(): void {
    this.pending.splice(0).forEach((done) => done());
  }
}

function setup() {
  const clock = new ManualClock();
  const socket = new FakeSocket();
  const overloads: Overload[] = [];
  const channel = new ClientChannel(socket, limits, clock, 5000, (r) => overloads.push(r));
  return { clock, socket, overloads, channel };
}

describe('ClientChannel', () => {
  it('counts messages until their write completes', () => {
    const { socket, channel } = setup();
    expect(channel.send('a')).toBe(true);
    expect(channel.send('b')).toBe(true);
    expect(channel.queuedMessages).toBe(2);
    socket.completeWrites();
    expect(channel.queuedMessages).toBe(0);
    expect(socket.sent).toEqual(['a', 'b']);
  });

  it('keeps a client that keeps up, however many messages it gets', () => {
    const { socket, channel, overloads } = setup();
    for (let i = 0; i < 50; i++) {
      expect(channel.send(`m${i}`)).toBe(true);
      socket.completeWrites();
    }
    expect(overloads).toEqual([]);
    expect(socket.closedWith).toBeNull();
  });

  it('drops with 1013 once the queue bound is reached, and only once', () => {
    const { socket, channel, overloads } = setup();
    for (let i = 0; i < 3; i++) expect(channel.send(`m${i}`)).toBe(true);
    expect(channel.send('m3')).toBe(false);
    expect(socket.closedWith?.[0]).toBe(1013);
    expect(socket.closedWith?.[1]).toContain('queued_messages');
    expect(channel.droppedFor).toBe('queued_messages');
    socket.completeWrites();
    expect(channel.send('m4')).toBe(false);
    expect(overloads).toEqual(['queued_messages']);
    expect(socket.sent).toHaveLength(3);
  });

  it('drops when the socket buffer holds more bytes than the bound', () => {
    const { socket, channel, overloads } = setup();
    socket.bufferedAmount = 101;
    expect(channel.send('x')).toBe(false);
    expect(overloads).toEqual(['buffered_bytes']);
  });

  it('terminates a dropped client that does not close within the grace time', () => {
    const { clock, socket, channel } = setup();
    socket.bufferedAmount = 1000;
    channel.send('x');
    clock.advance(4999);
    expect(socket.terminated).toBe(false);
    clock.advance(1);
    expect(socket.terminated).toBe(true);
  });

  it('does not terminate after dispose (the socket closed by itself)', () => {
    const { clock, socket, channel } = setup();
    socket.bufferedAmount = 1000;
    channel.send('x');
    channel.dispose();
    clock.advance(10_000);
    expect(socket.terminated).toBe(false);
  });

  it('sends nothing to a socket that is no longer open', () => {
    const { socket, channel, overloads } = setup();
    socket.readyState = 2;
    expect(channel.send('x')).toBe(false);
    expect(socket.sent).toEqual([]);
    expect(overloads).toEqual([]);
  });
});
