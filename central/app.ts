import type { FastifyInstance } from 'fastify';
import { systemClock, type Clock } from '../gateway/clock.ts';
import type { CentralConfig } from './config.ts';
import type { KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { scheduleAccuracyRetention } from './accuracy-retention.ts';
import { CentralError } from './errors.ts';
import { privateKeyFromPem } from './manifest.ts';
import { scheduleRetraining } from './retrain-schedule.ts';
import type { RetrainOptions } from './retrain.ts';
import { ModelRegistry } from './registry.ts';
import { buildCentralServer } from './server.ts';
import { PgCentralStorage } from './storage/pg-storage.ts';
import { SqliteCentralStorage } from './storage/sqlite-storage.ts';
import type { CentralStorage } from './storage/storage.ts';

/** The central server's composition root: storage, then HTTP, retraining and accuracy retention; stopped in reverse. */
export interface CentralApp {
  readonly storage: CentralStorage;
  readonly registry: ModelRegistry;
  /** Port actually bound (useful with port 0). */
  readonly port: number;
  /** Address a local client reaches the server at: the bound address, loopback for a wildcard. */
  readonly localHost: string;
  stop(): Promise<void>;
}

export async function startCentral(config: CentralConfig, clock: Clock = systemClock): Promise<CentralApp> {
  // Read before anything is opened: a bad key file refuses the start instead of leaving a server up.
  const signingKey = config.retrainIntervalMs > 0 ? readSigningKey(signingKeyPath(config)) : null;
  const storage = storageFor(config);
  await storage.start();
  const registry = new ModelRegistry(modelsDir(config));
  let app: FastifyInstance;
  try {
    app = await buildCentralServer({ storage, registry, adminToken: config.adminToken, clock, bodyLimitBytes: config.bodyLimitBytes });
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await storage.close();
    throw err;
  }
  // Retraining needs the signing key; without one (no `keygen` yet) the schedule stays off.
  const retraining =
    signingKey !== null
      ? scheduleRetraining(
          { storage, registry, signingKey, clock, runsFile: runsFile(config), ...retrainSettings(config) },
          config.retrainIntervalMs,
          clock,
          (runs) => process.stdout.write(`${JSON.stringify({ event: 'retrained', runs: runs.map((r) => ({ sensor: `${r.gatewayId}/${r.sensorId}`, decision: r.decision, error: r.error })) })}\n`),
          (err) => process.stderr.write(`retraining failed: ${(err as Error).message}\n`),
        )
      : null;
  const retention = scheduleAccuracyRetention(
    storage,
    config.accuracyRetentionDays,
    clock,
    (deleted) => {
      if (deleted > 0) process.stdout.write(`${JSON.stringify({ event: 'accuracy_reports_pruned', deleted, retentionDays: config.accuracyRetentionDays })}\n`);
    },
    (err) => process.stderr.write(`pruning accuracy reports failed: ${(err as Error).message}\n`),
  );
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const localHost = localAddressOf(typeof address === 'object' && address !== null ? address.address : config.host);
  return {
    storage,
    registry,
    port,
    localHost,
    async stop() {
      await retention.stop();
      await retraining?.stop();
      await app.close();
      await storage.close();
    },
  };
}

/**
 * The retraining signing key at `file`; null when there is none yet (no `keygen`). A file that is
 * there but unreadable or not a private key PEM is a CENTRAL_CONFIG_INVALID naming the file.
 */
export function readSigningKey(file: string): KeyObject | null {
  if (!fs.existsSync(file)) return null;
  try {
    return privateKeyFromPem(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CentralError('CENTRAL_CONFIG_INVALID', `signing key ${file} cannot be used: ${(err as Error).message}; replace it with the output of \`keygen\``);
  }
}

/** Where the registry keeps its artifacts and registry.json. */
export function modelsDir(config: Pick<CentralConfig, 'dataDir'>): string {
  return path.join(config.dataDir, 'models');
}

export function signingKeyPath(config: Pick<CentralConfig, 'dataDir' | 'signingKeyPath'>): string {
  return config.signingKeyPath ?? path.join(config.dataDir, 'signing-key.pem');
}

/** The run log: one JSON line per retraining run. */
/** The retraining options that come from the configuration (the schedule's and `cli.ts retrain`'s). */
export function retrainSettings(config: CentralConfig): Pick<RetrainOptions, 'promotionMargin' | 'kind' | 'jobTimeoutMs' | 'timeZone'> {
  return { promotionMargin: config.promotionMargin, kind: config.retrainKind, jobTimeoutMs: config.retrainTimeoutMs, ...(config.timeZone ? { timeZone: config.timeZone } : {}) };
}

export function runsFile(config: Pick<CentralConfig, 'dataDir'>): string {
  return path.join(config.dataDir, 'runs.jsonl');
}

/** The configured storage, not yet started. */
export function storageFor(config: Pick<CentralConfig, 'storage' | 'pgConnectionString' | 'dataDir'>): CentralStorage {
  return config.storage === 'postgres' ? new PgCentralStorage({ connectionString: config.pgConnectionString! }) : new SqliteCentralStorage({ dataDir: config.dataDir });
}

/** Where a client on this machine reaches a server bound to `bound`: the address itself, loopback for a wildcard. */
export function localAddressOf(bound: string): string {
  if (bound === '0.0.0.0') return '127.0.0.1';
  if (bound === '::') return '::1';
  return bound;
}
