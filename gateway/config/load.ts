import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.ts';

/** Thrown when the configuration cannot be used; `problems` lists every error found, not just the first. */
export class ConfigError extends Error {
  readonly code = 'ECONFIG';
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid configuration (${source}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export const ENV_PREFIX = 'HYGROCAST_';

/** Environment variables that are not config overrides (so they are not rejected as unknown). */
const NON_OVERRIDE_ENV = new Set(['HYGROCAST_CONFIG']);

export interface LoadOptions {
  /** Path of a YAML config file; undefined means embedded defaults only. */
  file?: string | undefined;
  /** Environment to read HYGROCAST_* overrides from (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Loads, merges and validates the configuration: defaults, then the YAML file, then
 * environment overrides (HYGROCAST_<PATH> where PATH is the key path in SCREAMING_SNAKE_CASE,
 * e.g. HYGROCAST_MQTT_PORT=1884, HYGROCAST_DASHBOARD_ENABLED=false, HYGROCAST_DATA_DIR=/var/lib/hygrocast).
 * Throws ConfigError listing every problem.
 */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const sourceName = options.file ?? 'embedded defaults';
  let raw: unknown = {};
  if (options.file !== undefined) raw = readYamlFile(options.file);
  const { merged, problems } = applyEnvOverrides(raw, env);
  const result = configSchema.safeParse(merged);
  if (!result.success) problems.push(...formatIssues(result.error.issues));
  if (problems.length > 0 || !result.success) throw new ConfigError(sourceName, problems);
  return result.data;
}

function readYamlFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as Error).message}`]);
  }
  try {
    const parsed: unknown = parseYaml(text, { uniqueKeys: true });
    return parsed ?? {};
  } catch (err) {
    if (err instanceof YAMLParseError) throw new ConfigError(file, [`not valid YAML: ${err.message}`]);
    throw err;
  }
}

/** Every scalar leaf path of the config (e.g. ["mqtt","port"]), from the defaults. */
export function leafPaths(): string[][] {
  const defaults = configSchema.parse({}) as Record<string, unknown>;
  const out: string[][] = [];
  const walk = (value: unknown, path: string[]): void => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
    } else if (!Array.isArray(value)) {
      out.push(path);
    }
  };
  walk(defaults, []);
  return out;
}

export function envNameFor(path: string[]): string {
  return ENV_PREFIX + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
}

function applyEnvOverrides(raw: unknown, env: NodeJS.ProcessEnv): { merged: unknown; problems: string[] } {
  const problems: string[] = [];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { merged: raw, problems: ['the top level must be a mapping of keys to values'] };
  }
  const merged = structuredClone(raw) as Record<string, unknown>;
  const byName = new Map(leafPaths().map((p) => [envNameFor(p), p]));
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || NON_OVERRIDE_ENV.has(name) || value === undefined) continue;
    const path = byName.get(name);
    if (!path) {
      problems.push(`${name}: unknown environment override (known: ${[...byName.keys()].join(', ')})`);
      continue;
    }
    setPath(merged, path, parseYaml(value) as unknown);
  }
  return { merged, problems };
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = path[path.length - 1];
  if (last !== undefined) node[last] = value;
}

function formatIssues(issues: z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((k) => [...issue.path, k].join('.'));
      return `${keys.join(', ')}: unknown key${keys.length > 1 ? 's' : ''}`;
    }
    return `${where}: ${issue.message}`;
  });
}
