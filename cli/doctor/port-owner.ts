import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** TCP state LISTEN in /proc/net/tcp (include/net/tcp_states.h: TCP_LISTEN = 10). */
const TCP_LISTEN = '0A';

/** Socket inodes listening on `port` (IPv4 and IPv6), from /proc/net/tcp{,6}. Empty off Linux. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // no IPv6, or not Linux
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[1]?.endsWith(`:${hexPort}`) && f[3] === TCP_LISTEN && f[9] !== undefined) inodes.add(f[9]);
    }
  }
  return inodes;
}

/**
 * The command line of the process listening on TCP `port`, or null when it cannot be seen
 * (another user's process without root, or not Linux). Reads /proc like `ss -ltnp` does.
 */
export function portOwnerCommand(port: number): string[] | null {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return null;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to look at
    }
    for (const fd of fds) {
      let target = '';
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m?.[1] !== undefined && inodes.has(m[1])) {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a.length > 0);
        } catch {
          return null;
        }
      }
    }
  }
  return null;
}

/** True when a command line is a hygrocast gateway (`npm start`, `hygrocast gateway`, the unit). */
export function isHygrocastGateway(argv: string[]): boolean {
  return argv.some((a, i) => a.endsWith('gateway/main.ts') || (/(^|\/)(hygrocast(\.js|\.ts)?)$/.test(a) && argv[i + 1] === 'gateway'));
}
