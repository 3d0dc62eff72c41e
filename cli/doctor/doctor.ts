import { ConfigError, loadConfig } from '../../gateway/config/load.ts';
import type { Config } from '../../gateway/config/schema.ts';
import { fail, ok, type CheckResult } from './check.ts';
import { checkClock, systemClockProbe, type ClockProbe } from './clock.ts';
import { checkDevices, userGroups } from './devices.ts';
import { checkDisk } from './disk.ts';
import { checkModel } from './model.ts';
import { checkFiles } from './files.ts';
import { checkPorts } from './ports.ts';

export interface DoctorOptions {
  /** YAML config file; undefined means embedded defaults (as the gateway would run). */
  configFile?: string | undefined;
  /** Environment for HYGROCAST_* overrides. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Folder relative model paths resolve against (the hygrocast install folder). */
  installDir: string;
  clockProbe?: ClockProbe;
  groups?: string[];
}

export interface DoctorReport {
  /** True when no check failed (warnings allowed). */
  ok: boolean;
  checks: CheckResult[];
}

/**
 * Checks what the gateway needs from this machine, with the same config the gateway would load:
 * config valid, ports free (or held by hygrocast), serial/I2C devices present and accessible,
 * room on disk, clock synchronised, model compatible. Never throws for a problem it finds:
 * every problem is a failed check with a fix.
 */
export async function runDoctor(opts: DoctorOptions): Promise<DoctorReport> {
  let config: Config;
  try {
    config = loadConfig({ file: opts.configFile, env: opts.env ?? process.env });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const check = fail('config', `the configuration is invalid (${err.source}): ${err.problems.join('; ')}`, 'fix each key listed (reference: docs/configuration.md); the gateway refuses to start until then');
    return { ok: false, checks: [check] };
  }
  const checks: CheckResult[] = [ok('config', `configuration valid (${opts.configFile ?? 'embedded defaults'})`)];
  checks.push(...(await checkPorts(config)));
  checks.push(...checkFiles(config));
  checks.push(...checkDevices(config, opts.groups ?? userGroups()));
  checks.push(checkDisk(config.dataDir));
  checks.push(checkClock(opts.clockProbe ?? systemClockProbe));
  checks.push(await checkModel(config, opts.installDir));
  return { ok: checks.every((c) => c.status !== 'fail'), checks };
}

const MARK = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' } as const;

/** Human-readable report: one line per check, the fix indented under each problem. */
export function formatReport(report: DoctorReport): string {
  const lines = report.checks.flatMap((c) => [`${MARK[c.status]} ${c.id}: ${c.detail}`, ...(c.fix ? [`     fix: ${c.fix}`] : [])]);
  const failed = report.checks.filter((c) => c.status === 'fail').length;
  lines.push('', report.ok ? 'all checks passed' : `${failed} problem${failed === 1 ? '' : 's'} found`);
  return `${lines.join('\n')}\n`;
}
