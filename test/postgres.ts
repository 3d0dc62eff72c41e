import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.ts';

/**
 * A throwaway PostgreSQL server from Debian's `postgresql` package (installed by
 * scripts/system-deps.sh), for tests: initdb into a temp dir, listen on 127.0.0.1 with an
 * ephemeral port and the unix socket in the same dir, trust auth (nothing else can reach it).
 * As root, postgres refuses to run, so it runs as the `postgres` user via runuser.
 */
export interface TestPostgres {
  /** Connection string of a fresh database for one test (created on each call). */
  createDatabase(): Promise<string>;
  stop(): Promise<void>;
}

/** Finds initdb/postgres; null when missing (the caller skips), throws under CI=true. */
export function findPostgresBin(): string | null {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const bin = path.join(root, v, 'bin');
    if (fs.existsSync(path.join(bin, 'postgres')) && fs.existsSync(path.join(bin, 'initdb'))) return bin;
  }
  const message = 'PostgreSQL is not installed (run: bash scripts/system-deps.sh, package postgresql)';
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`skipping: ${message}`);
  return null;
}

/** How long the server may take to accept connections, in ms. */
const START_TIMEOUT_MS = 20_000;

export async function startPostgres(bin: string): Promise<TestPostgres> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-pg-'));
  const asRoot = process.getuid?.() === 0;
  fs.chmodSync(dir, 0o755);
  if (asRoot) execFileSync('chown', ['postgres:postgres', dir]);
  const as = (cmd: string, args: string[]): [string, string[]] => (asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);
  const dataDir = path.join(dir, 'data');
  const [initCmd, initArgs] = as(path.join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  execFileSync(initCmd, initArgs, { stdio: 'ignore' });
  const port = await freePort();
  const [pgCmd, pgArgs] = as(path.join(bin, 'postgres'), ['-D', dataDir, '-h', '127.0.0.1', '-p', String(port), '-k', dir, '-c', 'fsync=off']);
  const child: ChildProcess = spawn(pgCmd, pgArgs, { stdio: 'ignore', detached: false });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pgMod = await import('pg');
  const admin = `postgres://postgres@127.0.0.1:${port}/postgres`;
  try {
    await waitReady(admin, pgMod.default);
  } catch (err) {
    const [ctlCmd, ctlArgs] = as(path.join(bin, 'pg_ctl'), ['stop', '-D', dataDir, '-m', 'immediate']);
    try {
      execFileSync(ctlCmd, ctlArgs, { stdio: 'ignore' });
    } catch {
      // not running; nothing to stop
    }
    child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let n = 0;
  return {
    async createDatabase() {
      const name = `t${process.pid}_${++n}`;
      const c = new pgMod.default.Client({ connectionString: admin });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      // pg_ctl stops the server itself: runuser does not forward signals to it.
      const [ctlCmd, ctlArgs] = as(path.join(bin, 'pg_ctl'), ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '20']);
      try {
        execFileSync(ctlCmd, ctlArgs, { stdio: 'ignore' });
      } finally {
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

async function waitReady(conn: string, pg: typeof import('pg').default): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const c = new pg.Client({ connectionString: conn });
    try {
      await c.connect();
      await c.end();
      return;
    } catch (err) {
      await c.end().catch(() => {});
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections within ${START_TIMEOUT_MS} ms: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

