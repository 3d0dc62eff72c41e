import { existsSync, readlinkSync } from 'node:fs';
import { SerialPort } from 'serialport';
import { describe, expect, it } from 'vitest';
import { requireTool } from '../test/prereq.ts';
import { openPtyPair } from './pty.ts';

const socat = requireTool('socat');

describe.skipIf(socat === null)('openPtyPair', () => {
  it('connects the two ends and removes everything on close', async () => {
    const pair = await openPtyPair({ socatPath: socat ?? 'socat' });
    try {
      expect(readlinkSync(pair.devicePath)).toMatch(/^\/dev\/pts\//);
      const a = new SerialPort({ path: pair.devicePath, baudRate: 115200 });
      const b = new SerialPort({ path: pair.gatewayPath, baudRate: 115200 });
      const received = new Promise<string>((resolve) => b.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1'))));
      await Promise.all([a, b].map((p) => new Promise((resolve) => p.once('open', resolve))));
      a.write('$HC1,B,1,0*0000\n');
      expect(await received).toContain('$HC1,B,1,0');
      await Promise.all([a, b].map((p) => new Promise<void>((resolve) => p.close(() => resolve()))));
    } finally {
      await pair.close();
    }
    expect(existsSync(pair.devicePath)).toBe(false);
    await pair.close(); // idempotent
  });

  it('rejects with ENOENT when socat cannot be started', async () => {
    await expect(openPtyPair({ socatPath: '/nonexistent/socat' })).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
