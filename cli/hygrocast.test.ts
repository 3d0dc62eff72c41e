import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { INSTALL_DIR, MissingCommandError, runScript } from './passthrough.ts';
import { buildProgram, CLI_VERSION } from './hygrocast.ts';

const run = promisify(execFile);
const SUBCOMMANDS = ['gateway', 'central', 'sim', 'replay', 'ports', 'model', 'doctor'];

describe('the hygrocast command', () => {
  it('`hygrocast --help` through bin/hygrocast.js lists every subcommand', async () => {
    const { stdout } = await run(process.execPath, ['bin/hygrocast.js', '--help'], { cwd: INSTALL_DIR });
    for (const name of SUBCOMMANDS) expect(stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
  }, 20_000);

  it('has exactly the documented subcommands, each with a description', () => {
    const commands = buildProgram().commands;
    expect(commands.map((c) => c.name())).toEqual(SUBCOMMANDS);
    for (const c of commands) expect(c.description().length).toBeGreaterThan(10);
  });

  it('passes `model --help` on to models/cli.ts', async () => {
    const { stdout } = await run(process.execPath, ['bin/hygrocast.js', 'model', '--help'], { cwd: INSTALL_DIR });
    for (const sub of ['train', 'inspect', 'eval']) expect(stdout).toContain(sub);
  }, 20_000);

  it('routes `central retrain|models|keygen|publish` to central/cli.ts and the rest to the server', async () => {
    const { stdout } = await run(process.execPath, ['bin/hygrocast.js', 'central', 'models', '--help'], { cwd: INSTALL_DIR });
    expect(stdout).toMatch(/list model versions, stages and metrics/);
    const server = await run(process.execPath, ['bin/hygrocast.js', 'central', '--help'], { cwd: INSTALL_DIR });
    expect(server.stdout).not.toMatch(/list model versions/);
    expect(server.stdout).toMatch(/--config/);
  }, 30_000);

  it('says clearly when a subcommand is not part of this install', async () => {
    // central/main.ts and device-sim/replay.ts land separately; until then their commands explain themselves.
    await expect(runScript('central/not-here.ts', [], 'pending')).rejects.toMatchObject({
      code: 'ECOMMAND_MISSING',
      message: 'central/not-here.ts is not in this install (pending)',
    });
    expect(new MissingCommandError('x')).toBeInstanceOf(Error);
  });

  it('reports the package version', async () => {
    const { stdout } = await run(process.execPath, ['bin/hygrocast.js', '--version'], { cwd: INSTALL_DIR });
    expect(stdout.trim()).toBe(CLI_VERSION);
  }, 20_000);
});

describe('hygrocast gateway', () => {
  it('refuses an invalid config file with every problem listed and exit code 2', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hygrocast-cli-'));
    try {
      const file = path.join(dir, 'bad.yaml');
      writeFileSync(file, 'mqtt:\n  port: 99999\nnope: 1\n');
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HYGROCAST_')));
      const err = (await run(process.execPath, ['bin/hygrocast.js', 'gateway', '--config', file], { cwd: INSTALL_DIR, env }).then(() => null, (e: unknown) => e)) as { code: number; stderr: string } | null;
      expect(err?.code).toBe(2);
      expect(err?.stderr).toContain('mqtt.port');
      expect(err?.stderr).toContain('nope: unknown key');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);
});
