import fs from 'node:fs';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import { CentralError } from './errors.ts';
import { manifestFor, signManifest, type ModelManifest } from './manifest.ts';
import { writeFileDurable } from '../gateway/durable-file.ts';
import { tryLock, withLockSync, type HeldLock } from './file-lock.ts';

export type ModelStage = 'candidate' | 'production' | 'archived';

export interface RegistryEntry {
  version: string;
  stage: ModelStage;
  manifest: ModelManifest;
  /** Every stage change, oldest first: the registry never forgets a model. */
  history: Array<{ stage: ModelStage; atMs: number }>;
}

/**
 * Most models kept in the registry file; bounds its size. Past it the oldest archived entries
 * leave the file (their artifacts stay on disk); the production model and candidates never do.
 */
export const MAX_REGISTRY_ENTRIES = 1000;

/** How long a registry write waits for another process's write to finish. */
const REGISTRY_LOCK_WAIT_MS = 10_000;

/**
 * The model registry (stages candidate, production, archived), kept as one JSON file next to the
 * artifacts in `<dir>`. Every write goes to a temp file and is renamed over the old one, so a
 * crash leaves either the old or the new registry, never half of one. Each read-modify-write
 * holds `<dir>/registry.lock`, so the server and an operator's CLI (publish, retrain) can both
 * write without losing each other's entries.
 */
export class ModelRegistry {
  private readonly file: string;

  constructor(private readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
    this.file = path.join(dir, 'registry.json');
  }

  list(): RegistryEntry[] {
    if (!fs.existsSync(this.file)) return [];
    return (JSON.parse(fs.readFileSync(this.file, 'utf8')) as { models: RegistryEntry[] }).models;
  }

  production(): RegistryEntry | null {
    return this.list().find((e) => e.stage === 'production') ?? null;
  }

  artifact(version: string): Buffer | null {
    const entry = this.list().find((e) => e.version === version);
    return entry ? fs.readFileSync(this.artifactPath(version)) : null;
  }

  /**
   * Takes the lock that keeps two retraining passes (the server's schedule and `central retrain`)
   * from running at once; `{ heldBy: pid }` when another live process holds it.
   */
  retrainLock(): HeldLock | { heldBy: number } {
    return tryLock(path.join(this.dir, 'retrain.lock'));
  }

  /** Signs and stores a new candidate; rejects a version that already exists. */
  addCandidate(bytes: Uint8Array, contract: Parameters<typeof manifestFor>[1], metrics: Record<string, number>, key: KeyObject, atMs: number): RegistryEntry {
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(contract.modelVersion)) throw new CentralError('CENTRAL_INVALID_ARGUMENT', `model version "${contract.modelVersion}" must be 1-128 of A-Z a-z 0-9 . _ -`);
    return this.locked(() => this.addCandidateLocked(bytes, contract, metrics, key, atMs));
  }

  private addCandidateLocked(bytes: Uint8Array, contract: Parameters<typeof manifestFor>[1], metrics: Record<string, number>, key: KeyObject, atMs: number): RegistryEntry {
    const models = this.list();
    if (models.some((e) => e.version === contract.modelVersion)) throw new CentralError('CENTRAL_INVALID_ARGUMENT', `model version ${contract.modelVersion} is already in the registry`);
    const manifest = signManifest(manifestFor(bytes, contract, metrics, atMs), key);
    writeFileDurable(this.artifactPath(contract.modelVersion), bytes);
    const entry: RegistryEntry = { version: contract.modelVersion, stage: 'candidate', manifest, history: [{ stage: 'candidate', atMs }] };
    this.save(trimArchived([...models, entry]));
    return entry;
  }

  /** Makes `version` production; the previous production model becomes archived. */
  promote(version: string, atMs: number): void {
    this.locked(() => this.setStageOf(version, 'production', atMs));
  }

  /** A candidate that lost its comparison is archived, not deleted (the run stays on record). */
  archive(version: string, atMs: number): void {
    this.locked(() => this.setStageOf(version, 'archived', atMs));
  }

  private setStageOf(version: string, stage: 'production' | 'archived', atMs: number): void {
    const models = this.list();
    const target = models.find((e) => e.version === version);
    if (!target) throw new CentralError('CENTRAL_INVALID_ARGUMENT', `no model ${version} in the registry`);
    if (stage === 'production') {
      for (const e of models) {
        if (e.stage === 'production' && e !== target) setStage(e, 'archived', atMs);
      }
    }
    setStage(target, stage, atMs);
    this.save(models);
  }

  private locked<T>(fn: () => T): T {
    const busy = (pid: number) => new CentralError('CENTRAL_REGISTRY_BUSY', `the model registry in ${this.dir} stayed locked by process ${pid} for ${REGISTRY_LOCK_WAIT_MS} ms`);
    return withLockSync(path.join(this.dir, 'registry.lock'), REGISTRY_LOCK_WAIT_MS, busy, fn);
  }

  private artifactPath(version: string): string {
    return path.join(this.dir, `${version}.onnx`);
  }

  private save(models: RegistryEntry[]): void {
    writeFileDurable(this.file, Buffer.from(JSON.stringify({ models }, null, 1)));
  }
}

/** Drops the oldest archived entries past MAX_REGISTRY_ENTRIES; production and candidates stay. */
function trimArchived(models: RegistryEntry[]): RegistryEntry[] {
  let excess = models.length - MAX_REGISTRY_ENTRIES;
  if (excess <= 0) return models;
  return models.filter((e) => !(e.stage === 'archived' && excess-- > 0));
}

function setStage(e: RegistryEntry, stage: ModelStage, atMs: number): void {
  e.stage = stage;
  e.history.push({ stage, atMs });
}
