import type { KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { decodeModel, describeModel } from '../models/onnx-file.ts';
import { modelsDir, readSigningKey, retrainSettings, runsFile, signingKeyPath, storageFor } from './app.ts';
import { systemClock } from '../gateway/clock.ts';
import { retrainAll } from './retrain.ts';
import { loadCentralConfig, type CentralConfig } from './config.ts';
import { CentralError } from './errors.ts';
import { generateSigningKeys } from './manifest.ts';
import { ModelRegistry } from './registry.ts';

/**
 * `tsx central/cli.ts <command>`: operator commands that work on the central server's data folder
 * (run them on the central host). Exit 2 on bad config or arguments, 1 when the command fails.
 */
const program = new Command('hygrocast-central').option('--config <file>', 'central config YAML (else HYGROCAST_CENTRAL_* variables)');

// The admin token is irrelevant to offline commands; a placeholder keeps the schema strict for the server.
const config = (): CentralConfig => loadCentralConfig(program.opts<{ config?: string }>().config, { HYGROCAST_CENTRAL_ADMIN_TOKEN: 'offline-cli-placeholder', ...process.env });

program
  .command('keygen')
  .description('create the Ed25519 signing key (and its .pub for gateways to pin); refuses to overwrite')
  .action(() => {
    const file = signingKeyPath(config());
    if (fs.existsSync(file)) throw new Error(`${file} exists; remove it first if you really mean to replace the key every gateway pins`);
    const { privateKeyPem, publicKeyPem } = generateSigningKeys();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, privateKeyPem, { mode: 0o600 });
    fs.writeFileSync(`${file}.pub`, publicKeyPem);
    process.stdout.write(`wrote ${file} and ${file}.pub\n`);
  });

program
  .command('publish <model>')
  .description('sign an ONNX model and add it to the registry as a candidate (--promote: straight to production)')
  .option('--promote', 'make it the production model')
  .action((file: string, opts: { promote?: boolean }) => {
    const c = config();
    const bytes = fs.readFileSync(file);
    const { contract, problems } = describeModel(decodeModel(bytes, file));
    if (contract === null) throw new Error(`${file} breaks the model contract:\n  ${problems.join('\n  ')}`);
    const key = signingKeyOf(c);
    const metrics = Object.fromEntries(Object.entries(contract.validationMae).map(([h, v]) => [`mae_${h}`, v]));
    const registry = new ModelRegistry(modelsDir(c));
    registry.addCandidate(bytes, contract, metrics, key, Date.now());
    if (opts.promote) registry.promote(contract.modelVersion, Date.now());
    process.stdout.write(`${contract.modelVersion}: ${opts.promote ? 'production' : 'candidate'}\n`);
  });

program
  .command('retrain')
  .description('retrain every sensor now from the synced data; promotes a candidate only when better by the margin')
  .option('--margin <fraction>', 'promotion margin (default: config promotionMargin)')
  .action(async (opts: { margin?: string }) => {
    const c = config();
    const margin = opts.margin === undefined ? c.promotionMargin : Number(opts.margin);
    if (!Number.isFinite(margin) || margin < 0 || margin > 0.5) throw new Error(`--margin must be a fraction in [0, 0.5] (got ${opts.margin})`);
    const storage = storageFor(c);
    await storage.start();
    try {
      const key = signingKeyOf(c);
      const runs = await retrainAll({ storage, registry: new ModelRegistry(modelsDir(c)), signingKey: key, clock: systemClock, runsFile: runsFile(c), ...retrainSettings(c), promotionMargin: margin });
      for (const r of runs) process.stdout.write(`${r.gatewayId}/${r.sensorId}: ${r.decision}${r.error ? ` (${r.error})` : ''} candidate=${r.candidate?.meanMae.toFixed(3) ?? '-'} production=${r.production?.meanMae.toFixed(3) ?? '-'}\n`);
      if (runs.length === 0) process.stdout.write('no synced data yet\n');
    } finally {
      await storage.close();
    }
  });

program
  .command('models')
  .description('list model versions, stages and metrics')
  .option('--json', 'one JSON document')
  .action((opts: { json?: boolean }) => {
    const models = new ModelRegistry(modelsDir(config())).list();
    if (opts.json) return void process.stdout.write(`${JSON.stringify(models, null, 2)}\n`);
    if (models.length === 0) return void process.stdout.write('no models in the registry\n');
    for (const m of models) {
      const metrics = Object.entries(m.manifest.metrics).slice(0, 6).map(([k, v]) => `${k}=${v.toFixed(3)}`).join(' ');
      process.stdout.write(`${m.version.padEnd(32)} ${m.stage.padEnd(10)} ${new Date(m.history.at(-1)?.atMs ?? 0).toISOString()} ${metrics}\n`);
    }
  });

/** The signing key, or a CENTRAL_CONFIG_INVALID naming the file when there is none yet or it is not a key. */
function signingKeyOf(c: CentralConfig): KeyObject {
  const file = signingKeyPath(c);
  const key = readSigningKey(file);
  if (key === null) throw new CentralError('CENTRAL_CONFIG_INVALID', `no signing key at ${file}; create one with \`keygen\``);
  return key;
}

try {
  await program.parseAsync();
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit((err as { code?: string }).code === 'CENTRAL_CONFIG_INVALID' ? 2 : 1);
}
