import { constants, accessSync, existsSync, statfsSync } from 'node:fs';
import path from 'node:path';
import { fail, ok, warn, type CheckResult } from './check.ts';

/** Below this much free space the data folder fails the check (SQLite needs room to checkpoint). */
export const MIN_FREE_BYTES = 100 * 1024 * 1024;
/** Below this much free space the check warns. */
export const LOW_FREE_BYTES = 1024 * 1024 * 1024;

const mib = (bytes: number): string => `${Math.round(bytes / (1024 * 1024))} MiB`;

/** The data folder (or, before first start, its nearest existing parent) is writable and has room. */
export function checkDisk(dataDir: string, minFreeBytes = MIN_FREE_BYTES, lowFreeBytes = LOW_FREE_BYTES): CheckResult {
  const dir = path.resolve(dataDir);
  let probe = dir;
  while (!existsSync(probe) && path.dirname(probe) !== probe) probe = path.dirname(probe);
  try {
    accessSync(probe, constants.W_OK);
  } catch {
    return fail('disk', `${probe} is not writable by this user (data folder ${dir})`, `create it for the service user: sudo install -d -o hygrocast -g hygrocast ${dir} (systemd/install.sh does this), or set dataDir / HYGROCAST_DATA_DIR`);
  }
  const fs = statfsSync(probe);
  const free = fs.bavail * fs.bsize;
  const detail = `${mib(free)} free for the data folder ${dir}`;
  if (free < minFreeBytes) return fail('disk', detail, `free space (journalctl --vacuum-size=100M, apt-get clean) or move dataDir to a bigger disk; the gateway needs at least ${mib(minFreeBytes)}`);
  if (free < lowFreeBytes) return warn('disk', detail, `free space or lower store.retentionBytes so the store's byte budget fits`);
  return ok('disk', detail);
}
