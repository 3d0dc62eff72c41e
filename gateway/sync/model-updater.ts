import fs from 'node:fs';
import path from 'node:path';
import type { ModelManifest } from '../../central/manifest.ts';
import { publicKeyFromPem } from '../../central/manifest.ts';
import type { ModelContract } from '../../models/contract.ts';
import { sha256Hex } from '../../central/manifest.ts';
import { writeFileDurable } from '../durable-file.ts';
import { answerText, readUpTo, syncErrorOf } from './http-failure.ts';
import { SyncError } from './sync-types.ts';
import { ModelVerifyError, verifyManifest, verifyModel } from './model-verify.ts';
import { postReport } from './report-client.ts';

export interface ModelUpdaterOptions {
  /** Base URL of the central server. */
  url: string;
  token: string;
  /** The central server's Ed25519 public key (SPKI PEM), pinned at install time. */
  pinnedPublicKeyPem: string;
  /** Folder for verified models: <version>.onnx and <version>.manifest.json. Previous models stay. */
  modelsDir: string;
  /** Time to wait for each request, in ms. Default 30 000. */
  requestTimeoutMs?: number;
}

export type UpdateOutcome =
  | { kind: 'unchanged'; version?: string; file?: string } // 304, or the version already verified here (named, with its file)
  | { kind: 'none' } // the server has no production model
  | { kind: 'verified'; version: string; file: string; contract: ModelContract }
  | { kind: 'rejected'; version: string; code: ModelVerifyError['code']; message: string };

/**
 * Pulls the central server's production model when it changed (If-None-Match on the manifest),
 * verifies it (gateway/sync/model-verify.ts) and keeps it on disk next to the previous ones, and
 * reports the outcome to POST /v1/reports. It never touches the model in use: deciding to run
 * the new model (shadow, promote, roll back) is the caller's step after 'verified'.
 * check() rejects with a SyncError on transport errors (no answer, timeout, unexpected HTTP status:
 * gateway/sync/http-failure.ts, the same codes as the uplink's), and with a ModelVerifyError on a
 * manifest whose version is not a safe file name; every verification failure is an outcome, not a
 * rejection. Models are written durably (fsync, rename, fsync of the folder), and a model already
 * on disk counts only when its bytes still match the manifest's sha256: a file torn by a power
 * cut is downloaded again instead of being kept as "unchanged" for good.
 */
export class ModelUpdater {
  private etag: string | null = null;
  private readonly key;
  private readonly timeoutMs: number;

  constructor(private readonly o: ModelUpdaterOptions) {
    this.key = publicKeyFromPem(o.pinnedPublicKeyPem);
    this.timeoutMs = o.requestTimeoutMs ?? 30_000;
    fs.mkdirSync(o.modelsDir, { recursive: true });
  }

  async check(): Promise<UpdateOutcome> {
    const res = await this.get('/v1/models/manifest', this.etag);
    if (res.status === 304) return { kind: 'unchanged' };
    if (res.status === 404) return { kind: 'none' };
    if (res.status !== 200) throw await this.failure(res, 'the manifest request');
    const manifestBytes = await this.read(res, 'the manifest', (r) => readCapped(r, MAX_MANIFEST_BYTES, 'the manifest'));
    const manifest = this.parseManifest(manifestBytes);
    const etag = res.headers.get('etag');
    const file = path.join(this.o.modelsDir, `${safeName(manifest.version)}.onnx`);
    if (onDiskIntact(file, manifest.sha256)) {
      this.etag = etag;
      return { kind: 'unchanged', version: manifest.version, file };
    }
    let outcome: UpdateOutcome;
    try {
      // Nothing is downloaded for a manifest the pinned key did not sign, and never more than it signed.
      verifyManifest(manifest, this.key);
      const art = await this.get(`/v1/models/${encodeURIComponent(manifest.version)}/artifact`, null);
      if (art.status !== 200) throw await this.failure(art, 'the artifact request');
      const bytes = await this.read(art, 'the artifact', (r) => readCapped(r, manifest.sizeBytes, 'the artifact', () => new ModelVerifyError('MODEL_CORRUPT', `model ${manifest.version}: the artifact is longer than the ${manifest.sizeBytes} bytes the manifest signed`)));
      const contract = await verifyModel(manifest, bytes, this.key);
      writeFileDurable(`${file.slice(0, -5)}.manifest.json`, JSON.stringify(manifest));
      writeFileDurable(file, bytes);
      outcome = { kind: 'verified', version: manifest.version, file, contract };
    } catch (err) {
      if (!(err instanceof ModelVerifyError)) throw err;
      outcome = { kind: 'rejected', version: String(manifest.version), code: err.code, message: err.message };
    }
    // A rejected manifest is remembered too, so an unchanged bad model is not downloaded again.
    this.etag = etag;
    await this.report(outcome);
    return outcome;
  }

  private async report(outcome: UpdateOutcome): Promise<void> {
    if (outcome.kind !== 'verified' && outcome.kind !== 'rejected') return;
    await this.reportRollout(outcome.version, outcome.kind === 'verified' ? 'verified' : `rejected_${outcome.code}`.toLowerCase());
  }

  /**
   * Reports a rollout outcome (shadow, promotion, rollback: gateway/forecast/model-manager.ts) to
   * POST /v1/reports. Best effort, never rejects: a lost report must not undo a model decision.
   */
  async reportRollout(modelVersion: string, outcome: string, maePerHorizon?: Record<string, number>): Promise<void> {
    const body = { kind: 'rollout', modelVersion: modelVersion.slice(0, 128) || '?', outcome: outcome.slice(0, 64), ...(maePerHorizon ? { maePerHorizon } : {}) };
    await postReport({ url: this.o.url, token: this.o.token, timeoutMs: this.timeoutMs }, body).catch(() => undefined);
  }

  private async get(pathName: string, etag: string | null): Promise<Response> {
    try {
      return await fetch(new URL(pathName, this.o.url), {
        headers: { authorization: `Bearer ${this.o.token}`, ...(etag ? { 'if-none-match': etag } : {}) },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw syncErrorOf({ error }, this.request(`the request for ${pathName}`));
    }
  }

  /** The body, read under the request's timeout: a connection dropped mid-body is a SyncError too. */
  private async read<T>(res: Response, what: string, body: (r: Response) => Promise<T>): Promise<T> {
    try {
      return await body(res);
    } catch (error) {
      if (error instanceof SyncError || error instanceof ModelVerifyError) throw error;
      throw syncErrorOf({ error }, this.request(`reading ${what}`));
    }
  }

  private parseManifest(bytes: Uint8Array): ModelManifest {
    try {
      return JSON.parse(Buffer.from(bytes).toString('utf8')) as ModelManifest;
    } catch (error) {
      throw new SyncError('SYNC_SERVER_ERROR', `the manifest from ${this.request('the manifest').origin} is not JSON: ${(error as Error).message}`);
    }
  }

  private async failure(res: Response, what: string): Promise<Error> {
    return syncErrorOf({ status: res.status, answer: await answerText(res) }, this.request(what));
  }

  private request(what: string): { origin: string; what: string; timeoutMs: number } {
    return { origin: new URL(this.o.url).origin, what, timeoutMs: this.timeoutMs };
  }
}

/** Largest manifest read, bytes: a signed manifest is about 1 kB. */
const MAX_MANIFEST_BYTES = 64 * 1024;

/** The whole body, at most `cap` bytes (readUpTo); a longer one rejects with `tooLong()` (default a SyncError). */
async function readCapped(res: Response, cap: number, what: string, tooLong?: () => Error): Promise<Uint8Array> {
  const { bytes, over, error } = await readUpTo(res, cap);
  if (error !== undefined) throw error;
  if (over) throw tooLong?.() ?? new SyncError('SYNC_REJECTED', `${what} is longer than ${cap} bytes`);
  return bytes;
}

/** Whether `file` exists and holds exactly the bytes the manifest signed. */
function onDiskIntact(file: string, sha256: string): boolean {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    return false;
  }
  return sha256Hex(bytes) === sha256;
}

function safeName(version: string): string {
  if (typeof version !== 'string' || !/^[A-Za-z0-9._-]{1,128}$/.test(version)) throw new ModelVerifyError('MODEL_CONTRACT_INCOMPATIBLE', `model version ${JSON.stringify(version)} is not a safe file name`);
  return version;
}
