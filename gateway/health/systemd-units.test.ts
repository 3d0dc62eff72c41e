import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.ts';
import { requireTool } from '../../test/prereq.ts';

// This test lives in gateway/health/ rather than systemd/ because tsconfig.json (and so the
// type-aware lint) covers gateway/ but not systemd/.
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const here = path.join(repoRoot, 'systemd');
const UNITS = ['hygrocast-gateway.service', 'hygrocast-central.service'] as const;
const MAX_EXPOSURE = 2.0;

interface Run {
  code: number;
  output: string;
}

/** Runs a command to completion (bounded) and returns its exit code and stdout+stderr. */
function run(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 60_000, env, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      if (code === null) return reject(err ?? new Error(`${file} did not exit`));
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

const analyze = requireTool('systemd-analyze');

describe.skipIf(analyze === null)('systemd units', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-units-'));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A copy of a unit whose ExecStart names this machine's node: verify checks that the
   * executable exists, and a CI runner's node may live elsewhere than the Pi's /usr/bin/node.
   */
  function copyOf(unit: string, edit: (text: string) => string = (t) => t): string {
    let text = fs.readFileSync(path.join(here, unit), 'utf8');
    expect(text).toMatch(/^ExecStart=\/usr\/bin\/node --import tsx \/opt\/hygrocast\//m);
    if (!fs.existsSync('/usr/bin/node')) text = text.replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${process.execPath} `);
    const file = path.join(dir, unit);
    fs.writeFileSync(file, edit(text));
    return file;
  }

  /** Lines of `systemd-analyze verify` output about `file` (it exits 0 on warnings, so read them). */
  async function verifyWarnings(file: string): Promise<{ code: number; lines: string[] }> {
    const result = await run(analyze!, ['verify', file]);
    const name = path.basename(file);
    return { code: result.code, lines: result.output.split('\n').filter((line) => line.includes(name)) };
  }

  for (const unit of UNITS) {
    it(`${unit} passes systemd-analyze verify without a single warning`, async () => {
      const { code, lines } = await verifyWarnings(copyOf(unit));
      expect(lines).toEqual([]);
      expect(code).toBe(0);
    });

    it(`${unit} scores an overall exposure of at most ${MAX_EXPOSURE} in systemd-analyze security`, async () => {
      const result = await run(analyze!, ['security', '--offline=true', '--no-pager', copyOf(unit)]);
      const match = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(result.output);
      expect(match, result.output.slice(-2000)).not.toBeNull();
      expect(Number(match![1])).toBeLessThanOrEqual(MAX_EXPOSURE);
    });
  }

  it('the verify check notices a warning (so it can fail)', async () => {
    const file = copyOf('hygrocast-gateway.service', (t) => t.replace('[Service]\n', '[Service]\nNotifyAcess=main\n'));
    const { code, lines } = await verifyWarnings(file);
    expect(code).toBe(0); // systemd-analyze exits 0 on warnings: only reading the output catches them
    expect(lines.join('\n')).toContain("Unknown key 'NotifyAcess'");
  });

  it('the security check scores an unhardened unit above the bound (so it can fail)', async () => {
    const file = path.join(dir, 'plain.service');
    fs.writeFileSync(file, '[Service]\nType=notify\nExecStart=/usr/bin/env true\n');
    const result = await run(analyze!, ['security', '--offline=true', '--no-pager', file]);
    const match = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(result.output);
    expect(Number(match?.[1])).toBeGreaterThan(MAX_EXPOSURE);
  });
});

describe('the units say what the gateway needs', () => {
  const gateway = fs.readFileSync(path.join(here, 'hygrocast-gateway.service'), 'utf8');
  const directives = (text: string): string[] => text.split('\n').filter((l) => /^[A-Za-z]+=/.test(l));

  it('is a notify service with a watchdog, restarts on failure and keeps Node JIT working', () => {
    for (const line of [
      'Type=notify',
      'NotifyAccess=main',
      'WatchdogSec=30',
      'Restart=on-failure',
      'RestartSec=5',
      'TimeoutStopSec=20',
      'KillSignal=SIGTERM',
      'MemoryDenyWriteExecute=no',
      'StateDirectory=hygrocast',
      'Environment=HYGROCAST_DATA_DIR=%S/hygrocast',
      'DevicePolicy=closed',
      'DeviceAllow=char-ttyUSB rw',
      'DeviceAllow=char-ttyACM rw',
      'DeviceAllow=char-i2c rw',
      'SupplementaryGroups=dialout i2c',
      'ExecStart=/usr/bin/node --import tsx /opt/hygrocast/gateway/main.ts --config /etc/hygrocast/gateway.yaml',
    ]) {
      expect(directives(gateway)).toContain(line);
    }
  });

  it('comments every directive (a comment line right above each group)', () => {
    for (const unit of UNITS) {
      const lines = fs.readFileSync(path.join(here, unit), 'utf8').split('\n');
      const uncommented = lines.filter((line, i) => {
        if (!/^[A-Za-z]+=/.test(line)) return false;
        let j = i - 1;
        while (j >= 0 && /^[A-Za-z]+=/.test(lines[j] ?? '')) j--;
        return !(lines[j] ?? '').startsWith('#') && !(lines[j] ?? '').startsWith('[');
      });
      expect(uncommented, unit).toEqual([]);
    }
  });
});

describe('gateway.example.yaml', () => {
  it('is a valid configuration with no unknown keys', () => {
    const config = loadConfig({ file: path.join(here, 'gateway.example.yaml'), env: {} });
    expect(config.dataDir).toBe('/var/lib/hygrocast');
    expect(config.sources[0]).toMatchObject({ type: 'serial' });
    expect((config.sources[0] as { path: string }).path).toMatch(/^\/dev\/serial\/by-id\//);
  });
});

describe('install.sh and uninstall.sh', () => {
  const repo = repoRoot;
  const bash = '/bin/bash';

  it('--dry-run prints every step and changes nothing', async () => {
    const existedBefore = fs.existsSync('/opt/hygrocast');
    const result = await run(bash, [path.join(here, 'install.sh'), '--dry-run', '--from', repo]);
    expect(result.code, result.output).toBe(0);
    const out = result.output;
    expect(out).toMatch(/npm ci --omit=dev/);
    expect(out).toMatch(/install -m 0644 \S+\/systemd\/hygrocast-gateway\.service \/etc\/systemd\/system\/hygrocast-gateway\.service/);
    expect(out).toContain('+ systemctl daemon-reload');
    expect(out).toContain('+ systemctl enable hygrocast-gateway.service');
    expect(out).toMatch(/usermod --append --groups dialout\\?,i2c hygrocast/);
    if (!fs.existsSync('/etc/hygrocast/gateway.yaml')) expect(out).toMatch(/gateway\.example\.yaml \/etc\/hygrocast\/gateway\.yaml/);
    expect(fs.existsSync('/opt/hygrocast')).toBe(existedBefore);
    expect(fs.existsSync('/opt/hygrocast.new')).toBe(false);
  });

  it('refuses unknown options and a folder that is not a checkout, naming the problem', async () => {
    const bad = await run(bash, [path.join(here, 'install.sh'), '--dry-run', '--frm', repo]);
    expect(bad.code).toBe(2);
    expect(bad.output).toContain("unknown option '--frm'");
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-notrepo-'));
    try {
      const notRepo = await run(bash, [path.join(here, 'install.sh'), '--dry-run', '--from', empty]);
      expect(notRepo.code).toBe(2);
      expect(notRepo.output).toContain('is not a hygrocast checkout (missing package.json)');
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it('uninstall --dry-run keeps data and configuration unless --purge', async () => {
    const keep = await run(bash, [path.join(here, 'uninstall.sh'), '--dry-run']);
    expect(keep.code, keep.output).toBe(0);
    expect(keep.output).toContain('+ rm -rf /opt/hygrocast');
    const removals = keep.output.split('\n').filter((l) => l.startsWith('+ rm') || l.startsWith('+ user'));
    expect(removals.join('\n')).not.toMatch(/\/var\/lib|\/etc\/hygrocast|userdel/);
    const purge = await run(bash, [path.join(here, 'uninstall.sh'), '--dry-run', '--purge']);
    expect(purge.output).toContain('+ rm -rf /var/lib/hygrocast /var/lib/hygrocast-central /etc/hygrocast');
  });
});

describe('99-hygrocast.rules', () => {
  it('makes /dev/hygrocast-sensor for one adapter by vendor, product and serial, group dialout, mode 0660', () => {
    const rules = fs
      .readFileSync(path.join(here, '99-hygrocast.rules'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'));
    expect(rules).toHaveLength(1);
    const rule = rules[0] ?? '';
    for (const part of ['SUBSYSTEM=="tty"', 'ATTRS{idVendor}==', 'ATTRS{idProduct}==', 'ATTRS{serial}==', 'SYMLINK+="hygrocast-sensor"', 'GROUP="dialout"', 'MODE="0660"']) {
      expect(rule).toContain(part);
    }
  });
});
