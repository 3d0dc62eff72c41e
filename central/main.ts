import { parseArgs } from 'node:util';
import { systemClock } from '../gateway/clock.ts';
import { HealthMonitor } from '../gateway/health/health.ts';
import { SdNotifier, unsetNotifyEnvironment } from '../gateway/health/sd-notify.ts';
import { startCentral } from './app.ts';
import { loadCentralConfig } from './config.ts';
import { centralHealthChecks } from './health.ts';

const USAGE = `usage: hygrocast central [--config central.yaml]
Runs the central server until SIGINT/SIGTERM (env HYGROCAST_CENTRAL_CONFIG_FILE names the config).
Operator commands: hygrocast central keygen|publish|retrain|models (see central/README.md).
`;

/** `tsx central/main.ts [--config central.yaml]`: runs the central server until SIGINT/SIGTERM. */
let values: { config?: string; help?: boolean };
try {
  ({ values } = parseArgs({ options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
} catch (err) {
  process.stderr.write(`hygrocast central: ${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
let config;
try {
  config = loadCentralConfig(values.config ?? process.env.HYGROCAST_CENTRAL_CONFIG_FILE);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(2);
}
const app = await startCentral(config);
process.stdout.write(`${JSON.stringify({ event: 'listening', port: app.port })}\n`);

// Under systemd (Type=notify, WatchdogSec): READY after start, WATCHDOG only while healthy, STOPPING on shutdown.
const notifier = new SdNotifier({ onError: (err) => process.stderr.write(`sd_notify failed: ${err.message}\n`) });
unsetNotifyEnvironment();
const health = new HealthMonitor({
  clock: systemClock,
  notifier,
  checks: centralHealthChecks(app),
  onResult: (r) => {
    if (!r.ok) process.stderr.write(`${JSON.stringify({ event: 'unhealthy', checks: r.checks })}\n`);
  },
});
health.start();
notifier.ready();
let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  notifier.stopping();
  health
    .stop()
    .then(() => app.stop())
    .finally(() => notifier.close())
    .then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`stop failed: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
