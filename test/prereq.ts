import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Finds a system tool a test drives for real (socat, mosquitto_sub, ...). scripts/test.sh
 * installs them with apt-get before the suite runs. Outside CI a missing tool skips the test
 * with a message; under CI=true it throws, so CI never passes by skipping.
 * Returns the tool's absolute path, or null when the caller should skip.
 */
export function requireTool(name: string, installHint = `bash scripts/system-deps.sh`): string | null {
  for (const candidate of [name, `/usr/sbin/${name}`, `/usr/bin/${name}`]) {
    try {
      const found = execFileSync('bash', ['-c', `command -v ${candidate}`], { encoding: 'utf8' }).trim();
      if (found) return found;
    } catch {
      // not found; try the next location
    }
  }
  return missing(`required tool "${name}" is not installed (run: ${installHint})`);
}

/**
 * Like requireTool, for a file a package installs without a command of its own (e.g. arduino-mk's
 * /usr/share/arduino/Arduino.mk). Returns the path, or null when the caller should skip.
 */
export function requireFile(path: string, pkg: string, installHint = `bash scripts/system-deps.sh`): string | null {
  if (existsSync(path)) return path;
  return missing(`required file ${path} (Debian package ${pkg}) is not installed (run: ${installHint})`);
}

/** Under CI=true a missing prerequisite fails the run; elsewhere the caller skips, with a message. */
function missing(message: string): null {
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`skipping: ${message}`);
  return null;
}
