import { parseArgs } from 'node:util';
import { startCentral } from './app.ts';
import { loadCentralConfig } from './config.ts';

/** `tsx central/main.ts [--config central.yaml]`: runs the central server until SIGINT/SIGTERM. */
const { values } = parseArgs({ options: { config: { type: 'string' } } });
let config;
try {
  config = loadCentralConfig(values.config ?? process.env.HYGROCAST_CENTRAL_CONFIG_FILE);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(2);
}
const app = await startCentral(config);
process.stdout.write(`${JSON.stringify({ event: 'listening', port: app.port })}\n`);
let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  app.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`stop failed: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
