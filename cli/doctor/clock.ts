import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ok, warn, type CheckResult } from './check.ts';

/** What the clock check asks the system; injectable for tests. */
export interface ClockProbe {
  /** `timedatectl show -p NTPSynchronized --value`, or null when timedatectl cannot answer. */
  ntpSynchronized(): 'yes' | 'no' | null;
  /** systemd-timesyncd touches this file once it has synchronised. */
  timesyncFlagExists(): boolean;
}

export const systemClockProbe: ClockProbe = {
  ntpSynchronized() {
    try {
      const out = execFileSync('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], { encoding: 'utf8', timeout: 3000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      return out === 'yes' || out === 'no' ? out : null;
    } catch {
      return null; // no systemd (a container), or timedatectl missing
    }
  },
  timesyncFlagExists: () => existsSync('/run/systemd/timesync/synchronized'),
};

const FIX = 'enable time sync: sudo timedatectl set-ntp true (systemd-timesyncd), and make sure UDP port 123 reaches an NTP server; a Pi has no battery clock, so until then readings are re-timed from device uptime';

/**
 * The wall clock is NTP-synchronised. Not a failure when it is not: the gateway copes with an
 * untrusted clock (clock.trusted), but timestamps are provisional until it syncs.
 */
export function checkClock(probe: ClockProbe = systemClockProbe): CheckResult {
  const ntp = probe.ntpSynchronized();
  if (ntp === 'yes') return ok('clock', 'the system clock is NTP-synchronised (timedatectl)');
  if (probe.timesyncFlagExists()) return ok('clock', 'the system clock is synchronised (/run/systemd/timesync/synchronized)');
  if (ntp === 'no') return warn('clock', 'the system clock is not NTP-synchronised (timedatectl NTPSynchronized=no)', FIX);
  return warn('clock', 'cannot tell whether the clock is synchronised (no timedatectl answer, no /run/systemd/timesync/synchronized)', FIX);
}
