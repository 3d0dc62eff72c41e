import { constants, accessSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import type { Config } from '../../gateway/config/schema.ts';
import { fail, ok, type CheckResult } from './check.ts';

/** Names of the groups this process's user is in (`id -Gn`); empty when that cannot be asked. */
export function userGroups(): string[] {
  try {
    return execFileSync('id', ['-Gn'], { encoding: 'utf8', timeout: 2000 }).trim().split(/\s+/);
  } catch {
    return [];
  }
}

function checkDevice(id: string, path: string, group: string, missingFix: string, groups: string[]): CheckResult {
  try {
    statSync(path);
  } catch {
    return fail(id, `${path} does not exist`, missingFix);
  }
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
  } catch {
    const inGroup = groups.includes(group);
    const fix = inGroup
      ? `you are in the ${group} group but ${path} is still not read/writable: check its owner and mode (ls -l ${path}) or the udev rule (systemd/99-hygrocast.rules)`
      : `add the user to the ${group} group: sudo usermod -aG ${group} "$USER", then log out and in (the systemd unit gets it through SupplementaryGroups=${group})`;
    return fail(id, `${path} exists but this user cannot read and write it`, fix);
  }
  return ok(id, `${path} is present and read/writable`);
}

/** Every configured serial and I2C device exists and this user may read and write it. */
export function checkDevices(config: Config, groups: string[] = userGroups()): CheckResult[] {
  const results: CheckResult[] = [];
  for (const source of config.sources) {
    if (source.type === 'serial') {
      results.push(
        checkDevice(`serial.${source.path}`, source.path, 'dialout', 'plug the device in, then list candidates with `hygrocast ports` and use its /dev/serial/by-id/... name in sources[].path', groups),
      );
    } else if (source.type === 'i2c') {
      const dev = `/dev/i2c-${source.bus}`;
      results.push(checkDevice(`i2c.${source.bus}`, dev, 'i2c', 'enable I2C (sudo raspi-config nonint do_i2c 0, or dtparam=i2c_arm=on in /boot/firmware/config.txt) and reboot; see docs/i2c.md', groups));
    }
  }
  if (results.length === 0) results.push(ok('devices', 'no serial or I2C sources configured (simulated sensors only)'));
  return results;
}
