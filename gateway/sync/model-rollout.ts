import fs from 'node:fs';
import path from 'node:path';
import type { Clock } from '../clock.ts';
import type { ModelEvent, ModelManager } from '../forecast/model-manager.ts';
import type { ModelUpdater, UpdateOutcome } from './model-updater.ts';
import { SerialPasses } from './serial-passes.ts';
import { writeFileDurable } from '../durable-file.ts';

export interface ModelRolloutOptions {
  updater: Pick<ModelUpdater, 'check'>;
  manager: Pick<ModelManager, 'offer' | 'version'>;
  /** Folder of verified models, where each version's last decision is kept (decisions.json). Default: none kept across restarts. */
  modelsDir?: string;
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
  /** The last model offered whose refusal was temporary: offered again at the next check. */
  private retry: { version: string; file: string } | null = null;
  private readonly decisions: Decisions;

  constructor(private readonly o: ModelRolloutOptions) {
    if (!(o.checkIntervalMs >= 1)) throw new RangeError(`checkIntervalMs must be >= 1 (got ${o.checkIntervalMs})`);
    this.passes = new SerialPasses(o.clock, o.checkIntervalMs, () => this.checkNow());
    this.decisions = new Decisions(o.modelsDir);
  }

  start(): void {
    this.passes.start(this.o.firstCheckDelayMs ?? 0);
  }

  /** Stops the timer and waits for a check in flight (a promotion in progress completes). */
  stop(): Promise<void> {
    return this.passes.stop();
  }

  /**
   * One check now; never rejects (errors go to onError). A newly verified model is offered. A model
   * already on disk (unchanged) is offered again when it is not the one forecasting and its last
   * offer did not end in a lasting decision: the shadow failed on a store error, the load failed,
   * or the gateway stopped in the middle (power cut) and never decided.
   */
  async checkNow(): Promise<void> {
    try {
      const outcome = await this.o.updater.check();
      this.o.onOutcome(outcome);
      const model =
        outcome.kind === 'verified'
          ? { version: outcome.version, file: outcome.file }
          : outcome.kind === 'unchanged'
            ? outcome.version !== undefined && outcome.file !== undefined
              ? { version: outcome.version, file: outcome.file }
              : this.retry
            : null;
      this.retry = null;
      if (model === null || model.version === this.o.manager.version) return;
      if (outcome.kind !== 'verified' && this.decisions.lasting(model.version)) return;
      const event = await this.o.manager.offer(model.file);
      this.o.onOutcome(event);
      this.decisions.record(model.version, event.outcome);
      if (!LASTING.has(event.outcome)) this.retry = model;
    } catch (err) {
      this.o.onError(err);
    }
  }
}

/** Outcomes that settle a version for good: it is not offered again unless downloaded anew. */
const LASTING = new Set<ModelEvent['outcome']>(['promoted', 'promoted_unshadowed', 'refused_worse_in_shadow', 'refused_incompatible', 'already_running', 'rolled_back_error', 'rolled_back_invalid_output', 'rolled_back_live_error', 'kept']);
const DECISIONS_FILE = 'decisions.json';
/** Versions whose decision is kept; the oldest are forgotten past it. */
const MAX_DECISIONS = 64;

/** The last decision per model version, kept durably in `<modelsDir>/decisions.json` when there is a folder. */
class Decisions {
  private readonly byVersion = new Map<string, string>();

  constructor(private readonly dir: string | undefined) {
    if (!dir) return;
    try {
      const saved = JSON.parse(fs.readFileSync(path.join(dir, DECISIONS_FILE), 'utf8')) as Record<string, unknown>;
      for (const [version, outcome] of Object.entries(saved)) if (typeof outcome === 'string') this.byVersion.set(version, outcome);
    } catch {
      // none yet, or unreadable: every model on disk may be offered again, which is safe
    }
  }

  lasting(version: string): boolean {
    return LASTING.has(this.byVersion.get(version) as ModelEvent['outcome']);
  }

  record(version: string, outcome: string): void {
    this.byVersion.delete(version);
    this.byVersion.set(version, outcome);
    while (this.byVersion.size > MAX_DECISIONS) this.byVersion.delete(this.byVersion.keys().next().value!);
    if (!this.dir) return;
    fs.mkdirSync(this.dir, { recursive: true });
    writeFileDurable(path.join(this.dir, DECISIONS_FILE), JSON.stringify(Object.fromEntries(this.byVersion)));
  }
}

/** The file recording which model the manager last settled on, so a restart keeps it. */
const ACTIVE_FILE = 'active.json';

/** A file named in active.json, resolved inside modelsDir; null (the configured model) otherwise. */
function recorded(modelsDir: string, file: unknown): string | null {
  if (typeof file !== 'string') return null;
  const resolved = path.resolve(modelsDir, file);
  return path.dirname(resolved) === path.resolve(modelsDir) && fs.existsSync(resolved) ? resolved : null;
}

/**
 * active.json read: the model file to start with, the one recorded when it still exists (a
 * promoted model survives a restart), else `fallback` (forecast.modelPath); and the probation a
 * restart interrupted (the model to roll back to and since when), if it was recorded.
 */
export function activeRecord(modelsDir: string, fallback: string): { file: string; probation: { previousFile: string; sinceMs: number } | null } {
  try {
    const record = JSON.parse(fs.readFileSync(path.join(modelsDir, ACTIVE_FILE), 'utf8')) as { file?: unknown; probation?: { previous?: unknown; sinceMs?: unknown } };
    const file = recorded(modelsDir, record.file);
    if (file === null) return { file: fallback, probation: null };
    const p = record.probation;
    const probation = p && typeof p.sinceMs === 'number' && Number.isFinite(p.sinceMs) ? { previousFile: p.previous === null ? fallback : recorded(modelsDir, p.previous), sinceMs: p.sinceMs } : null;
    return { file, probation: probation && probation.previousFile !== null ? { previousFile: probation.previousFile, sinceMs: probation.sinceMs } : null };
  } catch {
    // no record yet, or an unreadable one: the configured model
    return { file: fallback, probation: null };
  }
}

/**
 * Records the model now forecasting (after a promotion, a rollback or the end of a probation)
 * and the probation in progress, if any; durable replace (gateway/durable-file.ts). Only models
 * inside modelsDir are named; null stands for the configured (shipped) model.
 */
export function rememberActiveModel(modelsDir: string, version: string, file: string, probation: { previousPath: string; sinceMs: number } | null = null): void {
  fs.mkdirSync(modelsDir, { recursive: true });
  const target = path.join(modelsDir, ACTIVE_FILE);
  const name = (f: string): string | null => (path.dirname(path.resolve(f)) === path.resolve(modelsDir) ? path.basename(f) : null);
  writeFileDurable(target, JSON.stringify({ version, file: name(file), ...(probation ? { probation: { previous: name(probation.previousPath), sinceMs: probation.sinceMs } } : {}) }));
}
