import fs from 'node:fs';

/** A lock held by this process; release() removes the lock file (once). */
export interface HeldLock {
  release(): void;
}

/**
 * Takes an exclusive lock between processes on one machine: a file created with O_EXCL holding
 * the owner's pid. Returns the pid of the live owner instead when another process holds it. A
 * lock file left by a process that no longer exists (killed, power cut) is taken over, so a crash
 * never blocks the registry for good.
 */
export function tryLock(file: string): HeldLock | { heldBy: number } {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      let held = true;
      return {
        release() {
          if (!held) return;
          held = false;
          fs.rmSync(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = ownerOf(file);
    if (owner !== null && alive(owner)) return { heldBy: owner };
    // No pid yet: the owner is between creating the file and writing its pid, unless the file is old.
    if (owner === null && ageMs(file) < 2000) return { heldBy: 0 };
    // The owner is gone: remove its file and try once more.
    fs.rmSync(file, { force: true });
  }
  return { heldBy: ownerOf(file) ?? 0 };
}

/**
 * Runs `fn` under the lock, waiting up to `waitMs` for another process to release it (registry
 * writes take milliseconds). Throws `busy(pid)` when it is still held after that.
 */
export function withLockSync<T>(file: string, waitMs: number, busy: (pid: number) => Error, fn: () => T): T {
  const deadline = Date.now() + waitMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    const lock = tryLock(file);
    if ('release' in lock) {
      try {
        return fn();
      } finally {
        lock.release();
      }
    }
    if (Date.now() >= deadline) throw busy(lock.heldBy);
    Atomics.wait(pause, 0, 0, 20);
  }
}

function ownerOf(file: string): number | null {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8'));
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function ageMs(file: string): number {
  try {
    return Date.now() - fs.statSync(file).mtimeMs;
  } catch {
    return Infinity;
  }
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
