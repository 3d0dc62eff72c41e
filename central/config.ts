import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { MODEL_KINDS } from '../models/train-features.ts';
import { isTimeZone } from '../models/time-zone.ts';
import { CentralError } from './errors.ts';

/** The central server's configuration; every key can be set in YAML or by HYGROCAST_CENTRAL_<KEY>. */
export const centralConfigSchema = z.strictObject({
  /** HTTP port. Default 8090. */
  port: z.number().int().min(0).max(65535).default(8090),
  /** Address to listen on. Default 0.0.0.0 (gateways reach it over the network). */
  host: z.string().min(1).default('0.0.0.0'),
  /** Folder of the SQLite database and model artifacts. Default ./central-data. */
  dataDir: z.string().min(1).default('./central-data'),
  /** sqlite (embedded, default) or postgres (fleets; needs pgConnectionString). */
  storage: z.enum(['sqlite', 'postgres']).default('sqlite'),
  /** libpq connection string for storage: postgres. */
  pgConnectionString: z.string().min(1).optional(),
  /** Token that may register gateways; at least 16 characters. Set it by environment, not in a file. */
  adminToken: z.string().min(16),
  /**
   * Ed25519 private key (PKCS#8 PEM) that signs model manifests; gateways pin its public key.
   * Default <dataDir>/signing-key.pem, created with its .pub next to it by `tsx central/cli.ts keygen`.
   */
  signingKeyPath: z.string().min(1).optional(),
  /**
   * How often every sensor's model is retrained, in ms; 0 turns the schedule off. Default 86 400 000
   * (daily). At most 2^31 - 1 (24.8 days), the longest timer Node keeps: a longer one fires after
   * 1 ms, and retraining ran back to back.
   */
  retrainIntervalMs: z.number().int().min(0).max(2_147_483_647).default(86_400_000),
  /** A candidate is promoted when its holdout MAE is below production's by this fraction. Default 0.02. */
  promotionMargin: z.number().min(0).max(0.5).default(0.02),
  /** Kind of model retraining trains: ensemble (the shipped kind), boosted, feature or ridge (models/MODEL_CARD.md). Default ensemble. */
  retrainKind: z.enum(MODEL_KINDS).default('ensemble'),
  /** Longest one sensor's training may take before its process is killed and the run logged as failed (TIMEOUT), in ms. Default 3 600 000 (1 h; the ensemble takes about 4 min on two cores). */
  retrainTimeoutMs: z.number().int().min(10_000).max(86_400_000).default(3_600_000),
  /**
   * IANA time zone whose local time of day retrained models learn. Gateways compute the
   * time-of-day input in their own TZ, so set this to the fleet's zone. Default: the server's TZ.
   */
  timeZone: z.string().min(1).refine(isTimeZone, { message: 'not an IANA time zone (e.g. Europe/Brussels, UTC)' }).optional(),
  /** Bound of a compressed request body, in bytes. Default 8 MiB. */
  bodyLimitBytes: z.number().int().min(1024).max(256 * 1024 * 1024).default(8 * 1024 * 1024),
  /**
   * Days an accuracy report (POST /v1/reports, kind 'accuracy') is kept, counted from its atMs; older
   * ones are deleted hourly (central/accuracy-retention.ts). Default 400: a year and a month, so this
   * season can still be compared with the same weeks a year ago, which bounds the table at about
   * 9,600 rows per sensor (one report an hour). At most 3660 (ten years); there is no "keep forever".
   */
  accuracyRetentionDays: z.number().int().min(1).max(3660).default(400),
}).refine((c) => c.storage !== 'postgres' || c.pgConnectionString !== undefined, { message: 'storage: postgres needs pgConnectionString', path: ['pgConnectionString'] });

export type CentralConfig = z.infer<typeof centralConfigSchema>;

const ENV_KEYS: Record<string, { key: keyof CentralConfig; type: 'number' | 'string' }> = {
  HYGROCAST_CENTRAL_PORT: { key: 'port', type: 'number' },
  HYGROCAST_CENTRAL_HOST: { key: 'host', type: 'string' },
  HYGROCAST_CENTRAL_DATA_DIR: { key: 'dataDir', type: 'string' },
  HYGROCAST_CENTRAL_STORAGE: { key: 'storage', type: 'string' },
  HYGROCAST_CENTRAL_PG_CONNECTION_STRING: { key: 'pgConnectionString', type: 'string' },
  HYGROCAST_CENTRAL_ADMIN_TOKEN: { key: 'adminToken', type: 'string' },
  HYGROCAST_CENTRAL_BODY_LIMIT_BYTES: { key: 'bodyLimitBytes', type: 'number' },
  HYGROCAST_CENTRAL_SIGNING_KEY_PATH: { key: 'signingKeyPath', type: 'string' },
  HYGROCAST_CENTRAL_RETRAIN_INTERVAL_MS: { key: 'retrainIntervalMs', type: 'number' },
  HYGROCAST_CENTRAL_PROMOTION_MARGIN: { key: 'promotionMargin', type: 'number' },
  HYGROCAST_CENTRAL_RETRAIN_KIND: { key: 'retrainKind', type: 'string' },
  HYGROCAST_CENTRAL_RETRAIN_TIMEOUT_MS: { key: 'retrainTimeoutMs', type: 'number' },
  HYGROCAST_CENTRAL_TIME_ZONE: { key: 'timeZone', type: 'string' },
  HYGROCAST_CENTRAL_ACCURACY_RETENTION_DAYS: { key: 'accuracyRetentionDays', type: 'number' },
};

/** Defaults, then the YAML file, then HYGROCAST_CENTRAL_* variables; throws CENTRAL_CONFIG_INVALID listing every problem. */
export function loadCentralConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): CentralConfig {
  const problems: string[] = [];
  let raw: Record<string, unknown> = {};
  if (file !== undefined) {
    try {
      const parsed: unknown = parseYaml(readFileSync(file, 'utf8'), { uniqueKeys: true }) ?? {};
      if (typeof parsed !== 'object' || Array.isArray(parsed)) problems.push(`${file}: the top level must be a mapping`);
      else raw = parsed as Record<string, unknown>;
    } catch (err) {
      problems.push(`${file}: ${(err as Error).message}`);
    }
  }
  // Which variable set a key, so a value the schema refuses is reported under the name the operator wrote.
  const setBy = new Map<string, string>();
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('HYGROCAST_CENTRAL_') || name === 'HYGROCAST_CENTRAL_CONFIG_FILE' || value === undefined) continue;
    const spec = ENV_KEYS[name];
    if (spec === undefined) {
      problems.push(`${name}: unknown variable (known: ${Object.keys(ENV_KEYS).join(', ')})`);
      continue;
    }
    const n = Number(value);
    if (spec.type === 'number' && (value.trim() === '' || !Number.isFinite(n))) problems.push(`${name}: "${value}" is not a number`);
    else {
      raw[spec.key] = spec.type === 'number' ? n : value;
      // A string may be a secret (the admin token, a connection string's password): only numbers are echoed.
      setBy.set(spec.key, spec.type === 'number' ? `${name}=${value}` : name);
    }
  }
  const result = centralConfigSchema.safeParse(raw);
  if (!result.success) problems.push(...result.error.issues.map((i) => issueLine(i, setBy)));
  if (problems.length > 0 || !result.success) {
    throw new CentralError('CENTRAL_CONFIG_INVALID', `invalid central configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  return result.data;
}

/** One refused value: under the variable that set it, when one did (`HYGROCAST_CENTRAL_PORT=99999 (port): ...`), else under its key. */
function issueLine(issue: z.core.$ZodIssue, setBy: ReadonlyMap<string, string>): string {
  const key = issue.path.join('.') || '(top level)';
  const variable = setBy.get(key);
  return `${variable === undefined ? key : `${variable} (${key})`}: ${issue.message}`;
}
