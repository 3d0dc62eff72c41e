import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpSyncTransport } from './http-transport.ts';
import { answerText, MAX_ANSWER_CHARS, syncErrorOf, type HttpFailure } from './http-failure.ts';
import { postReport } from './report-client.ts';
import { SyncError, type SyncErrorCode } from './sync-types.ts';
import { pumpBody } from '../../test/sync-helpers.ts';

const request = { origin: 'http://central.lan:8090', what: 'the batch', timeoutMs: 1500 };
const errno = (code: string): Error => Object.assign(new Error(`connect ${code}`), { code });
const badAck = new SyncError('SYNC_BAD_ACK', 'answer larger than 1048576 bytes');

describe('syncErrorOf', () => {
  const table: Array<[string, SyncErrorCode, HttpFailure, RegExp]> = [
    ['500', 'SYNC_SERVER_ERROR', { status: 500, answer: 'boom' }, /^central answered 500: boom$/],
    ['503', 'SYNC_SERVER_ERROR', { status: 503, answer: '' }, /^central answered 503: $/],
    ['400', 'SYNC_REJECTED', { status: 400, answer: '{"code":"BAD_BODY"}' }, /^central refused the batch \(400\): \{"code":"BAD_BODY"\}$/],
    ['401', 'SYNC_REJECTED', { status: 401, answer: '' }, /\(401\)/],
    ['413', 'SYNC_REJECTED', { status: 413, answer: '' }, /\(413\)/],
    ['499', 'SYNC_REJECTED', { status: 499, answer: '' }, /\(499\)/],
    ['a success status other than expected (200 for 201)', 'SYNC_REJECTED', { status: 200, answer: '' }, /\(200\)/],
    ['a redirect', 'SYNC_REJECTED', { status: 302, answer: '' }, /\(302\)/],
    ['a long answer, cut', 'SYNC_REJECTED', { status: 400, answer: 'x'.repeat(1000) }, new RegExp(`: x{${MAX_ANSWER_CHARS}}$`)],
    ['node:http ECONNREFUSED', 'SYNC_UNREACHABLE', { error: errno('ECONNREFUSED') }, /^cannot reach http:\/\/central\.lan:8090 \(ECONNREFUSED\)$/],
    ['node:http ECONNRESET', 'SYNC_UNREACHABLE', { error: errno('ECONNRESET') }, /\(ECONNRESET\)/],
    ['node:http ENOTFOUND', 'SYNC_UNREACHABLE', { error: errno('ENOTFOUND') }, /\(ENOTFOUND\)/],
    ['node:http EAI_AGAIN', 'SYNC_UNREACHABLE', { error: errno('EAI_AGAIN') }, /\(EAI_AGAIN\)/],
    ['fetch ECONNREFUSED', 'SYNC_UNREACHABLE', { error: new TypeError('fetch failed', { cause: errno('ECONNREFUSED') }) }, /\(ECONNREFUSED\)$/],
    ['fetch, unknown cause', 'SYNC_UNREACHABLE', { error: new TypeError('fetch failed', { cause: new Error('other side closed') }) }, /failed: fetch failed: other side closed$/],
    ['another error', 'SYNC_UNREACHABLE', { error: new Error('socket hang up') }, /^request to http:\/\/central\.lan:8090 failed: socket hang up$/],
    ['a thrown string', 'SYNC_UNREACHABLE', { error: 'odd' }, /failed: odd$/],
    ['a timeout (AbortSignal.timeout)', 'SYNC_TIMEOUT', { error: new DOMException('signal timed out', 'TimeoutError') }, /^no answer from http:\/\/central\.lan:8090 within 1500 ms$/],
    ['a SyncError, as it is', 'SYNC_BAD_ACK', { error: badAck }, /^answer larger than/],
  ];

  it.each(table)('%s: %s', (_label, code, failure, message) => {
    const err = syncErrorOf(failure, request);
    expect(err).toBeInstanceOf(SyncError);
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
  });

  it('keeps the request error as the cause', () => {
    const refused = errno('ECONNREFUSED');
    expect(syncErrorOf({ error: refused }, request).cause).toBe(refused);
    expect(syncErrorOf({ error: badAck }, request)).toBe(badAck);
  });
});

describe('both sync clients map failures with syncErrorOf', () => {
  let server: http.Server | null = null;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = null;
  });

  /** A central that answers every request with `status` (or never, with null). */
  async function central(status: number | null): Promise<string> {
    server = http.createServer((req, res) => {
      req.resume();
      if (status !== null) req.once('end', () => res.writeHead(status).end('{"code":"X"}'));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async function closedPort(): Promise<string> {
    const url = await central(503);
    await new Promise((resolve) => server!.close(resolve));
    server = null;
    return url;
  }

  const clients: Array<[string, (url: string) => Promise<unknown>]> = [
    [
      'HttpSyncTransport.send',
      (url) => {
        const transport = new HttpSyncTransport({ url, token: 't', requestTimeoutMs: 200 });
        return transport.send([]).finally(() => transport.close());
      },
    ],
    ['postReport', (url) => postReport({ url, token: 't', timeoutMs: 200 }, {})],
  ];

  it.each(clients)('%s', async (_name, call) => {
    await expect(call(await central(503))).rejects.toMatchObject({ code: 'SYNC_SERVER_ERROR', message: 'central answered 503: {"code":"X"}' });
    await expect(call(await central(400))).rejects.toMatchObject({ code: 'SYNC_REJECTED', message: expect.stringMatching(/^central refused the (batch|report) \(400\): \{"code":"X"\}$/) });
    await expect(call(await central(null))).rejects.toMatchObject({ code: 'SYNC_TIMEOUT', message: expect.stringMatching(/within 200 ms$/) });
    await expect(call(await closedPort())).rejects.toMatchObject({ code: 'SYNC_UNREACHABLE', message: expect.stringMatching(/\(ECONNREFUSED\)$/) });
  });

  it('reads no more than 4 kB of an error answer, however long the server makes it', async () => {
    let body = null as { sent(): number } | null;
    const server = http.createServer((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      body = pumpBody(res, 256 * 1024 * 1024);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      const text = await answerText(res);
      expect(text.length).toBeGreaterThan(0);
      expect(text.length).toBeLessThanOrEqual(4096);
      expect(body?.sent()).toBeLessThan(64 * 1024 * 1024);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
