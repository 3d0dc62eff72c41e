import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PtyPair {
  /** Symlink to the pty the simulated device opens. */
  devicePath: string;
  /** Symlink to the pty the gateway opens. */
  gatewayPath: string;
  /** Kills socat and resolves once it has exited (its links are gone then). Idempotent. */
  close(): Promise<void>;
}

export interface PtyPairOptions {
  /** Folder for the two links; default a fresh mkdtemp folder, removed again by close(). */
  dir?: string;
  /** socat executable. Default "socat" from PATH. */
  socatPath?: string;
  /** How long to wait for both links to appear, in ms. Default 5000. */
  readyTimeoutMs?: number;
}

const POLL_MS = 20;

/**
 * A connected pair of pseudo-terminals made by socat: bytes written to one end are read at the
 * other, through the kernel's real tty layer (so serialport runs exactly as on hardware).
 * Rejects with an error whose `code` is ENOENT (no socat), EEXIT (socat exited before the links
 * appeared; its stderr is in the message) or ETIMEDOUT.
 */
export async function openPtyPair(options: PtyPairOptions = {}): Promise<PtyPair> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'hygrocast-pty-'));
  const devicePath = join(dir, 'a');
  const gatewayPath = join(dir, 'b');
  const child = spawn(options.socatPath ?? 'socat', ['-d', '-d', `pty,raw,echo=0,link=${devicePath}`, `pty,raw,echo=0,link=${gatewayPath}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    stderr = (stderr + text).slice(-2000); // bounded: only the tail matters for a diagnosis
  });
  // 'close' after a normal exit; 'error' alone when the spawn itself failed.
  const exited = new Promise<void>((resolve) => {
    child.once('close', () => resolve());
    child.once('error', () => resolve());
  });
  let spawnError: NodeJS.ErrnoException | null = null;
  child.once('error', (err: NodeJS.ErrnoException) => {
    spawnError = err;
  });

  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 5000);
  for (;;) {
    if (spawnError) {
      await close();
      throw withCode((spawnError as NodeJS.ErrnoException).code ?? 'ENOENT', `cannot start socat: ${(spawnError as Error).message}`);
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      await close();
      throw withCode('EEXIT', `socat exited (${child.exitCode ?? child.signalCode}) before creating ${devicePath} and ${gatewayPath}: ${stderr.trim()}`);
    }
    if (existsSync(devicePath) && existsSync(gatewayPath)) return { devicePath, gatewayPath, close };
    if (Date.now() > deadline) {
      await close();
      throw withCode('ETIMEDOUT', `socat did not create ${devicePath} and ${gatewayPath} within ${options.readyTimeoutMs ?? 5000} ms: ${stderr.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function withCode(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}
