import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';

export const REPO_ROOT = path.resolve(import.meta.dirname, '..');

/** A gateway running as its own process, as `npm start` runs it, with its JSON log lines collected. */
export interface GatewayProcess {
  child: ChildProcessWithoutNullStreams;
  dir: string;
  dataDir: string;
  logs: Record<string, unknown>[];
  stderr: () => string;
  mqttPort: number;
  dashboardPort: number;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  cleanup(): void;
}

/**
 * Starts `node --import tsx gateway/main.ts --config <file>` with the given config (ports 0 and
 * 127.0.0.1 unless overridden) and waits for its "started" log line, which carries the ports.
 */
export async function startGatewayProcess(config: Record<string, unknown>, timeoutMs = 20_000): Promise<GatewayProcess> {
  const dir = mkdtempSync(path.join(tmpdir(), 'hygrocast-gw-'));
  const dataDir = path.join(dir, 'data');
  const full = {
    dataDir,
    mqtt: { host: '127.0.0.1', port: 0 },
    dashboard: { host: '127.0.0.1', port: 0 },
    ...config,
  };
  const configFile = path.join(dir, 'gateway.yaml');
  writeFileSync(configFile, stringify(full));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HYGROCAST_')));
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts', '--config', configFile], { cwd: REPO_ROOT, env });
  const logs: Record<string, unknown>[] = [];
  let err = '';
  let buffer = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started = new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start within ${timeoutMs} ms; stderr:\n${err}`)), timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (entry.msg === 'hygrocast gateway started') {
            clearTimeout(timer);
            resolve(entry);
          }
        } catch {
          logs.push({ raw: line });
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${String(code)} before starting; stderr:\n${err}`));
    });
  });
  const entry = await started;
  return {
    child,
    dir,
    dataDir,
    logs,
    stderr: () => err,
    mqttPort: entry.mqttPort as number,
    dashboardPort: entry.dashboardPort as number,
    stop: async (signal = 'SIGINT') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return await exited;
    },
    cleanup: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { waitFor } from './wait.ts';
