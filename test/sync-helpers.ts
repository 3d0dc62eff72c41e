import type { ServerResponse } from 'node:http';
import { centralConfigSchema, type CentralConfig } from '../central/config.ts';
import type { Reading } from '../gateway/types.ts';
export { freePort } from './free-port.ts';

export const SYNC_ADMIN_TOKEN = 'test-admin-token-0123456789';

/** Reading number `i` of a backlog spread over 4 sensors and two boots per sensor. */
export function backlogReading(i: number): Reading {
  const sensor = i % 4;
  const k = Math.floor(i / 4);
  const boot = k < 10_000 ? 'boot-a' : 'boot-b';
  return { sensorId: `s${sensor}`, bootId: boot, seq: k, uptimeMs: k * 1000, wallTimeMs: Date.UTC(2026, 0, 1) + k * 1000, rh: 40 + (k % 300) / 10, tempC: 21.5, quality: [] };
}


export async function registerGateway(port: number, gatewayId: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/gateways`, {
    method: 'POST',
    headers: { authorization: `Bearer ${SYNC_ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ gatewayId }),
  });
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/** Polls `check` every 50 ms until it is true or `timeoutMs` passes. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A central config for tests: loopback, SQLite in `dataDir`, no retraining schedule. */
export function testCentralConfig(port: number, dataDir: string): CentralConfig {
  return centralConfigSchema.parse({ port, host: '127.0.0.1', dataDir, adminToken: SYNC_ADMIN_TOKEN, retrainIntervalMs: 0 });
}

/**
 * Streams `totalBytes` in 64 kB chunks (no content-length: chunked) as fast as the client reads,
 * stopping when the client goes away; `sent()` counts the bytes handed to the socket so far. A
 * hostile or broken server's endless body, for tests of bounded reads.
 */
export function pumpBody(res: ServerResponse, totalBytes: number): { sent(): number } {
  let sent = 0;
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const pump = (): void => {
    while (sent < totalBytes && !res.destroyed) {
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
  return { sent: () => sent };
}
