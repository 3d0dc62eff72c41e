import fs from 'node:fs';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import { CentralError } from './errors.ts';
import { manifestFor, signManifest, type ModelManifest } from './manifest.ts';
import { writeFileDurable } from '../gateway/durable-file.ts';

export type ModelStage = 'candidate' | 'production' | 'archived';

export interface RegistryEntry {
  version: string;
  stage: ModelStage;
  manifest: ModelManifest;
  /** Every stage change, oldest first: the registry never forgets a model. */
  history: Array<{ stage: ModelStage; atMs: number }>;
}

/** Most models kept in the registry file; bounds its size (archived artifacts stay on disk). */
export const MAX_REGISTRY_ENTRIES = 1000;

/**
 * The model registry (stages candidate, production, archived), kept as one JSON file next to the
 * artifacts in `<dir>`. Every write goes to a temp file and is renamed over the old one, so a
 * crash leaves either the old or the new registry, never half of one. One writer (the central
 * process) is assumed.
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

  /** Signs and stores a new candidate; rejects a version that already exists. */
  addCandidate(bytes: Uint8Array, contract: Parameters<typeof manifestFor>[1], metrics: Record<string, number>, key: KeyObject, atMs: number): RegistryEntry {
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(contract.modelVersion)) throw new CentralError('CENTRAL_INVALID_ARGUMENT', `model version "${contract.modelVersion}" must be 1-128 of A-Z a-z 0-9 . _ -`);
    const models = this.list();
    if (models.some((e) => e.version === contract.modelVersion)) throw new CentralError('CENTRAL_INVALID_ARGUMENT', `model version ${contract.modelVersion} is already in the registry`);
    const manifest = signManifest(manifestFor(bytes, contract, metrics, atMs), key);
    writeFileDurable(this.artifactPath(contract.modelVersion), bytes);
    const entry: RegistryEntry = { version: contract.modelVersion, stage: 'candidate', manifest, history: [{ stage: 'candidate', atMs }] };
    this.save([...models, entry].slice(-MAX_REGISTRY_ENTRIES));
    return entry;
  }

  /** Makes `version` production; the previous production model becomes archived. */
  promote(version: string, atMs: number): void {
    const models = this.list();
    const target = models.find((e) => e.version === version);
    if (!target) throw new CentralError('CENTRAL_INVALID_ARGUMENT', `no model ${version} in the registry`);
    for (const e of models) {
      if (e.stage === 'production' && e !== target) setStage(e, 'archived', atMs);
    }
    setStage(target, 'production', atMs);
    this.save(models);
  }

  /** A candidate that lost its comparison is archived, not deleted (the run stays on record). */
  archive(version: string, atMs: number): void {
    const models = this.list();
    const target = models.find((e) => e.version === version);
    if (!target) throw new CentralError('CENTRAL_INVALID_ARGUMENT', `no model ${version} in the registry`);
    setStage(target, 'archived', atMs);
    this.save(models);
  }

  private artifactPath(version: string): string {
    return path.join(this.dir, `${version}.onnx`);
  }

  private save(models: RegistryEntry[]): void {
    writeFileDurable(this.file, Buffer.from(JSON.stringify({ models }, null, 1)));
  }
}

function setStage(e: RegistryEntry, stage: ModelStage, atMs: number): void {
  e.stage = stage;
  e.history.push({ stage, atMs });
}
