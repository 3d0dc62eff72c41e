import fs from 'node:fs';
import path from 'node:path';
import type { Clock } from '../clock.ts';
import type { ModelEvent, ModelManager } from '../forecast/model-manager.ts';
import type { ModelUpdater, UpdateOutcome } from './model-updater.ts';
import { SerialPasses } from './serial-passes.ts';
import { writeFileDurable } from '../durable-file.ts';

export interface ModelRolloutOptions {
  updater: Pick<ModelUpdater, 'check'>;
  manager: Pick<ModelManager, 'offer'>;
  clock: Clock;
  /** Time between two checks with the central server, ms (sync.modelCheckIntervalMs). */
  checkIntervalMs: number;
  /** Delay of the first check after start, ms. Default 0. */
  firstCheckDelayMs?: number;
  /** Every pull outcome and every manager decision (logging; the manager reports to the server). */
  onOutcome: (outcome: UpdateOutcome | ModelEvent) => void;
  /** Transport failures of a check (the server is down...); the next check retries. */
  onError: (err: unknown) => void;
}

/**
 * The gateway's model loop: every checkIntervalMs, a conditional pull (ModelUpdater: download
 * and verify), then for a verified model the manager's shadow, promotion and probation
 * (ModelManager). One check at a time; a check that is still running when the timer fires
 * is not doubled, the next one is simply scheduled after it.
 */
export class ModelRollout {
  private readonly passes: SerialPasses;

  constructor(private readonly o: ModelRolloutOptions) {
    if (!(o.checkIntervalMs >= 1)) throw new RangeError(`checkIntervalMs must be >= 1 (got ${o.checkIntervalMs})`);
    this.passes = new SerialPasses(o.clock, o.checkIntervalMs, () => this.checkNow());
  }

  start(): void {
    this.passes.start(this.o.firstCheckDelayMs ?? 0);
  }

  /** Stops the timer and waits for a check in flight (a promotion in progress completes). */
  stop(): Promise<void> {
    return this.passes.stop();
  }

  /** One check now; never rejects (errors go to onError). */
  async checkNow(): Promise<void> {
    try {
      const outcome = await this.o.updater.check();
      this.o.onOutcome(outcome);
      if (outcome.kind === 'verified') this.o.onOutcome(await this.o.manager.offer(outcome.file));
    } catch (err) {
      this.o.onError(err);
    }
  }
}

/** The file recording which model the manager last settled on, so a restart keeps it. */
const ACTIVE_FILE = 'active.json';

/**
 * The model file to start with: the one recorded in `<modelsDir>/active.json` when it still
 * exists (a promoted model survives a restart), else `fallback` (forecast.modelPath).
 */
export function activeModelPath(modelsDir: string, fallback: string): string {
  try {
    const { file } = JSON.parse(fs.readFileSync(path.join(modelsDir, ACTIVE_FILE), 'utf8')) as { file?: unknown };
    if (typeof file === 'string' && path.dirname(path.resolve(modelsDir, file)) === path.resolve(modelsDir) && fs.existsSync(path.resolve(modelsDir, file))) return path.resolve(modelsDir, file);
  } catch {
    // no record yet, or an unreadable one: the configured model
  }
  return fallback;
}

/** Records the model now forecasting (after a promotion or a rollback); durable replace (gateway/durable-file.ts). */
export function rememberActiveModel(modelsDir: string, version: string, file: string): void {
  fs.mkdirSync(modelsDir, { recursive: true });
  const target = path.join(modelsDir, ACTIVE_FILE);
  // Only a model inside modelsDir is recorded; the shipped model is the fallback anyway.
  const inside = path.dirname(path.resolve(file)) === path.resolve(modelsDir);
  writeFileDurable(target, JSON.stringify(inside ? { version, file: path.basename(file) } : { version, file: null }));
}
