import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const INSTALL_DIR = path.resolve(import.meta.dirname, '..');

/** Raised when a subcommand's implementation is not part of this install (yet). */
export class MissingCommandError extends Error {
  readonly code = 'ECOMMAND_MISSING';
}

/**
 * Runs another hygrocast entry point (device-sim/cli.ts, models/cli.ts, ...) as a child
 * `node --import tsx FILE ARGS`, sharing this terminal, and resolves with its exit code.
 * A child process rather than an import: those scripts parse process.argv and exit on their own.
 * SIGINT/SIGTERM reach the child through the terminal's process group or are forwarded.
 */
export async function runScript(relativeFile: string, args: string[], pendingNote = ''): Promise<number> {
  const file = path.join(INSTALL_DIR, relativeFile);
  if (!existsSync(file)) throw new MissingCommandError(`${relativeFile} is not in this install${pendingNote ? ` (${pendingNote})` : ''}`);
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { cwd: process.cwd(), stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
  // Ctrl-C reaches the child through the terminal; this process waits for it to stop cleanly.
  const waitForChild = (): void => {};
  process.on('SIGTERM', forward);
  process.on('SIGINT', waitForChild);
  return await new Promise<number>((resolve) => {
    child.once('error', (err) => {
      process.stderr.write(`hygrocast: cannot run ${relativeFile}: ${err.message}\n`);
      resolve(1);
    });
    child.once('exit', (code, signal) => {
      process.off('SIGTERM', forward);
      process.off('SIGINT', waitForChild);
      resolve(code ?? (signal ? 128 + 15 : 1));
    });
  });
}
