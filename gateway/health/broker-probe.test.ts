import net from 'node:net';
import { Aedes } from 'aedes';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { BrokerAcceptingCheck, connectPacket, probeBroker, probeHostFor } from './broker-probe.ts';
import { cleanupAfterEach } from '../../test/cleanups.ts';

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}

function close(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('connectPacket', () => {
  it('encodes an MQTT 3.1.1 CONNECT with clean session and keep-alive 10 s [MQTT-3.1]', () => {
    expect(connectPacket('abc').toString('hex')).toBe('100f00044d5154540402000a0003616263');
  });

  it('rejects client ids a 3.1.1 broker need not accept', () => {
    expect(() => connectPacket('')).toThrow(/client id must be 1-23 bytes/);
    expect(() => connectPacket('x'.repeat(24))).toThrow(/client id must be 1-23 bytes/);
  });
});

describe('probeHostFor', () => {
  it('reaches wildcard listeners on the loopback and specific addresses on themselves', () => {
    expect(probeHostFor('0.0.0.0')).toBe('127.0.0.1');
    expect(probeHostFor('::')).toBe('127.0.0.1');
    expect(probeHostFor('192.168.1.20')).toBe('192.168.1.20');
  });
});

describe('BrokerAcceptingCheck', () => {
  const cleanups = cleanupAfterEach();

  it('passes against a real Aedes broker and disconnects cleanly', async () => {
    const aedes = await Aedes.createBroker();
    const server = net.createServer((socket) => aedes.handle(socket));
    const port = await listen(server);
    cleanups.push(async () => {
      await close(server);
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    });
    const seen: string[] = [];
    aedes.on('client', (c) => seen.push(`connect ${c.id}`));
    aedes.on('clientDisconnect', (c) => seen.push(`disconnect ${c.id}`));
    const check = new BrokerAcceptingCheck({ port, clock: new ManualClock(), clientId: 'hc-health-test' });
    const result = await check.run(new AbortController().signal);
    expect(result).toEqual({ ok: true, detail: 'CONNACK in 0 ms' });
    for (let i = 0; i < 200 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
    expect(seen).toEqual(['connect hc-health-test', 'disconnect hc-health-test']);
  });

  it('fails with ECONNREFUSED when nothing listens', async () => {
    const server = net.createServer();
    const port = await listen(server);
    await close(server);
    const result = await new BrokerAcceptingCheck({ port, clock: new ManualClock() }).run(new AbortController().signal);
    expect(result.ok).toBe(false);
    expect(result.detail).toContain(`MQTT broker at 127.0.0.1:${port}`);
    expect(result.detail).toContain('ECONNREFUSED');
  });

  it('fails with ETIMEDOUT when the peer accepts TCP but never answers, and closes the socket', async () => {
    const peers: net.Socket[] = [];
    let peerClosed = false;
    const server = net.createServer((socket) => {
      peers.push(socket);
      socket.resume(); // read (and ignore) the CONNECT, so the client's FIN is seen
      socket.on('close', () => (peerClosed = true));
    });
    const port = await listen(server);
    cleanups.push(async () => {
      for (const p of peers) p.destroy();
      await close(server);
    });
    const clock = new ManualClock();
    const probe = probeBroker({ port, clock, timeoutMs: 2000 });
    const outcome = probe.then(
      () => null,
      (err: unknown) => err,
    );
    for (let i = 0; i < 200 && peers.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    clock.advance(1999);
    await settle();
    clock.advance(1);
    const err = await outcome;
    expect(err).toMatchObject({ code: 'HEALTH_PROBE_FAILED', errno: 'ETIMEDOUT' });
    expect((err as Error).message).toBe(`MQTT broker at 127.0.0.1:${port}: no CONNACK within 2000 ms`);
    for (let i = 0; i < 200 && !peerClosed; i++) await new Promise((r) => setTimeout(r, 5));
    expect(peerClosed).toBe(true);
  });

  it('fails naming the return code when the broker refuses the CONNECT', async () => {
    const server = net.createServer((socket) => {
      socket.once('data', () => socket.end(Buffer.from([0x20, 0x02, 0x00, 0x05])));
      socket.on('error', () => {});
    });
    const port = await listen(server);
    cleanups.push(() => close(server));
    const result = await new BrokerAcceptingCheck({ port, clock: new ManualClock() }).run(new AbortController().signal);
    expect(result).toEqual({ ok: false, detail: `HEALTH_PROBE_FAILED: MQTT broker at 127.0.0.1:${port}: refused the connection (return code 5: not authorized)` });
  });

  it('fails when the peer answers something that is not a CONNACK', async () => {
    const server = net.createServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
      socket.on('error', () => {});
    });
    const port = await listen(server);
    cleanups.push(() => close(server));
    await expect(probeBroker({ port, clock: new ManualClock() })).rejects.toMatchObject({ errno: 'EPROTO' });
  });

  it('stops when the monitor aborts it', async () => {
    const peers: net.Socket[] = [];
    const server = net.createServer((socket) => {
      peers.push(socket);
      socket.on('error', () => {});
    });
    const port = await listen(server);
    cleanups.push(async () => {
      for (const p of peers) p.destroy();
      await close(server);
    });
    const abort = new AbortController();
    const run = new BrokerAcceptingCheck({ port, clock: new ManualClock() }).run(abort.signal);
    abort.abort();
    const result = await run;
    expect(result.ok).toBe(false);
    expect(result.detail).toContain('probe aborted');
  });

  it('rejects a bad port by name', () => {
    expect(() => new BrokerAcceptingCheck({ port: 0, clock: new ManualClock() })).toThrow(/port must be an integer from 1 to 65535/);
  });
});
