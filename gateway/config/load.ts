import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
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
/** Prefixes of variables the test suite reads (HYGROCAST_TEST_I2C_BUS, docs/i2c.md): not overrides either. */
const NON_OVERRIDE_PREFIXES = ['HYGROCAST_TEST_'];

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
  let raw: unknown = {};
  if (options.file !== undefined) raw = readYamlFile(options.file);
  const { merged, problems, used } = applyEnvOverrides(raw, env);
  const sourceName = `${options.file ?? 'embedded defaults'}${used.length > 0 ? ` and ${used.join(', ')}` : ''}`;
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

/** How an environment value becomes the key's value: by the key's type in the schema. */
type LeafKind = 'string' | 'number' | 'boolean' | 'yaml';

interface JsonNode {
  type?: string;
  enum?: unknown[];
  properties?: Record<string, JsonNode>;
}

/** Every scalar leaf of the config with its kind (arrays are file only), from the schema: optional keys included. */
function leaves(): Array<{ path: string[]; kind: LeafKind }> {
  const out: Array<{ path: string[]; kind: LeafKind }> = [];
  const walk = (node: JsonNode, path: string[]): void => {
    if (node.type === 'object' && node.properties) {
      for (const [k, child] of Object.entries(node.properties)) walk(child, [...path, k]);
      return;
    }
    if (node.type === 'array' || path.length === 0) return;
    const kind: LeafKind =
      node.type === 'string' || (node.enum?.every((v) => typeof v === 'string') ?? false) ? 'string' : node.type === 'integer' || node.type === 'number' ? 'number' : node.type === 'boolean' ? 'boolean' : 'yaml';
    out.push({ path, kind });
  };
  walk(z.toJSONSchema(configSchema, { io: 'input' }) as JsonNode, []);
  return out;
}

/** Every scalar leaf path of the config (e.g. ["mqtt","port"]). */
export function leafPaths(): string[][] {
  return leaves().map((l) => l.path);
}

const BOOLEAN_WORDS: Record<string, boolean> = { true: true, false: false, yes: true, no: false, on: true, off: false, '1': true, '0': false };

/** The value of an environment override for a key of `kind`, or why it cannot be one. */
function envValue(value: string, kind: LeafKind): { value: unknown } | { problem: string } {
  if (kind === 'string') return { value };
  if (kind === 'boolean') {
    const b = BOOLEAN_WORDS[value.trim().toLowerCase()];
    return b === undefined ? { problem: 'must be true or false (also yes/no, on/off, 1/0)' } : { value: b };
  }
  if (kind === 'number') {
    const n = value.trim() === '' ? Number.NaN : Number(value);
    return Number.isFinite(n) ? { value: n } : { problem: 'must be a number' };
  }
  try {
    return { value: parseYaml(value) as unknown };
  } catch (err) {
    return { problem: `is not a value: ${(err as Error).message.split('\n')[0]}` };
  }
}

export function envNameFor(path: string[]): string {
  return ENV_PREFIX + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
}

function applyEnvOverrides(raw: unknown, env: NodeJS.ProcessEnv): { merged: unknown; problems: string[]; used: string[] } {
  const problems: string[] = [];
  const used: string[] = [];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { merged: raw, problems: ['the top level must be a mapping of keys to values'], used };
  }
  const merged = structuredClone(raw) as Record<string, unknown>;
  const byName = new Map(leaves().map((l) => [envNameFor(l.path), l]));
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || NON_OVERRIDE_ENV.has(name) || NON_OVERRIDE_PREFIXES.some((p) => name.startsWith(p)) || value === undefined) continue;
    const leaf = byName.get(name);
    if (!leaf) {
      problems.push(`${name}: unknown environment override (known: ${[...byName.keys()].join(', ')})`);
      continue;
    }
    const parsed = envValue(value, leaf.kind);
    if ('problem' in parsed) {
      problems.push(`${name}=${JSON.stringify(value)} (${leaf.path.join('.')}): ${parsed.problem}`);
      continue;
    }
    used.push(name);
    setPath(merged, leaf.path, parsed.value);
  }
  return { merged, problems, used };
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
