import fs from 'node:fs';
import type { Clock } from '../clock.ts';
import type { Config } from '../config/schema.ts';
import type { Forecaster } from '../forecast/forecaster.ts';
import type { ModelEvent, ModelManager } from '../forecast/model-manager.ts';
import type { Logger } from '../log.ts';
import { activeRecord, ModelRollout, rememberActiveModel } from './model-rollout.ts';
import { ModelUpdater } from './model-updater.ts';

export interface StartModelRolloutOptions {
  sync: Config['sync'];
  /** `<dataDir>/models`: verified models, previous ones kept, and active.json. */
  modelsDir: string;
  manager: ModelManager;
  clock: Clock;
  logger: Logger;
}

export interface RunningModelRollout {
  /** The manager's reporter: to the central server, and active.json after a promotion or rollback. */
  report(event: ModelEvent): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the model loop when sync is on and a public key is pinned (sync.modelPublicKeyPath);
 * null otherwise. Throws when the key file cannot be read (a configured key that is missing
 * is an installation error, named with its key).
 */
export function startModelRollout(o: StartModelRolloutOptions): RunningModelRollout | null {
  if (!o.sync.enabled || o.sync.modelPublicKeyPath === '') return null;
  let pem: string;
  try {
    pem = fs.readFileSync(o.sync.modelPublicKeyPath, 'utf8');
  } catch (err) {
    throw new Error(`sync.modelPublicKeyPath: cannot read ${o.sync.modelPublicKeyPath}: ${(err as Error).message}`, { cause: err });
  }
  const updater = new ModelUpdater({ url: o.sync.url, token: o.sync.token, pinnedPublicKeyPem: pem, modelsDir: o.modelsDir });
  const rollout = new ModelRollout({
    updater,
    manager: o.manager,
    modelsDir: o.modelsDir,
    clock: o.clock,
    checkIntervalMs: o.sync.modelCheckIntervalMs,
    onOutcome: (outcome) => {
      if ('outcome' in outcome) o.logger.info({ ...outcome }, `model ${outcome.version}: ${outcome.outcome}`);
      else if (outcome.kind === 'rejected') o.logger.warn({ ...outcome }, `model ${outcome.version} rejected`);
    },
    onError: (err) => o.logger.warn({ err }, 'model check failed; retried at the next interval'),
  });
  rollout.start();
  return {
    async report(event) {
      if (event.outcome.startsWith('promoted') || event.outcome.startsWith('rolled_back') || event.outcome === 'kept') {
        try {
          rememberActiveModel(o.modelsDir, o.manager.version, o.manager.forecaster.info.path, o.manager.probationState());
        } catch (err) {
          o.logger.error({ err }, 'active model not recorded; a restart starts with the previous one');
        }
      }
      if (event.outcome.startsWith('rolled_back')) o.logger.warn({ ...event }, `model ${event.version} rolled back to ${event.otherVersion}`);
      await updater.reportRollout(event.version, event.outcome, event.maePerHorizon);
    },
    stop: () => rollout.stop(),
  };
}

/**
 * Loads the recorded active model (gateway/sync/model-rollout.ts), falling back to the configured
 * one, and the model to roll back to when a restart interrupted a probation (ModelManager
 * resumeProbation); a previous model that no longer loads ends that probation.
 */
export async function loadStartModels(
  modelsDir: string,
  configuredPath: string,
  load: (file: string) => Promise<Forecaster>,
  logger: Logger,
): Promise<{ initial: Forecaster; resumeProbation?: { previous: Forecaster; sinceMs: number } }> {
  const active = activeRecord(modelsDir, configuredPath);
  if (active.file === configuredPath) return { initial: await load(configuredPath) };
  let initial: Forecaster;
  try {
    initial = await load(active.file);
  } catch (err) {
    logger.error({ err, model: active.file }, 'recorded active model not loaded; using forecast.modelPath');
    return { initial: await load(configuredPath) };
  }
  if (active.probation === null) return { initial };
  try {
    return { initial, resumeProbation: { previous: await load(active.probation.previousFile), sinceMs: active.probation.sinceMs } };
  } catch (err) {
    logger.warn({ err, model: active.probation.previousFile }, 'the model to roll back to did not load; the probation interrupted by the restart ends');
    return { initial };
  }
}
