import { Command } from 'commander';
import { systemClock } from './clock.ts';
import { ConfigError, loadConfig } from './config/load.ts';
import { Gateway, VERSION } from './app.ts';
import { createLogger } from './log.ts';
import { SdNotifier, unsetNotifyEnvironment } from './health/sd-notify.ts';

/**
 * `npm start` / `hygrocast gateway`: loads config (embedded defaults when no file is given),
 * starts the gateway, and stops it cleanly on SIGINT/SIGTERM. Exit codes: 0 clean stop,
 * 1 runtime failure (a port in use, a store that cannot open), 2 invalid configuration.
 */
export async function runGateway(configFile: string | undefined): Promise<number> {
  let config;
  try {
    config = loadConfig({ file: configFile });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`hygrocast: ${err.message}\nhygrocast: refusing to start.\n`);
      return 2;
    }
    throw err;
  }
  const logger = createLogger(config.log.level);
  const notifier = new SdNotifier({
    onError: (err) => logger.warn({ err, code: err.code, errno: err.errno }, 'sd_notify failed'),
  });
  unsetNotifyEnvironment();
  const gateway = new Gateway(config, { clock: systemClock, logger, notifier });
  // Listening from the start: a signal during start-up stops the gateway once it has started,
  // and a second signal during shutdown is logged instead of killing the process (Node's default
  // for a signal without a listener) before the buffered readings are stored.
  let signalled: ((signal: string) => void) | null = null;
  let pendingSignal: string | null = null;
  const onSignal = (signal: string): void => (signalled ? signalled(signal) : void (pendingSignal ??= signal));
  const onSigint = (): void => onSignal('SIGINT');
  const onSigterm = (): void => onSignal('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  try {
    await gateway.start();
    notifier.ready();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message = (err as Error).message;
    logger.fatal({ err, code }, `cannot start: ${message}`);
    logger.flush();
    process.stderr.write(`hygrocast: cannot start: ${message}\n`);
    notifier.close();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    return 1;
  }

  return await new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = (signal: string): void => {
      if (stopping) {
        logger.warn({ signal }, 'already stopping; the buffered readings are being stored');
        return;
      }
      stopping = true;
      logger.info({ signal }, 'stopping');
      notifier.stopping();
      gateway
        .stop()
        .finally(() => notifier.close())
        .then(() => {
          logger.info('stopped cleanly');
          logger.flush();
          resolve(0);
        })
        .catch((err: unknown) => {
          logger.error({ err }, 'stop failed');
          logger.flush();
          resolve(1);
        });
    };
    signalled = shutdown;
    if (pendingSignal !== null) shutdown(pendingSignal);
  });
}

const isMain = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('gateway/main.ts');
if (isMain) {
  const program = new Command('hygrocast-gateway')
    .description('Run the hygrocast gateway (embedded defaults when no config file is given).')
    .version(VERSION)
    .option('-c, --config <file>', 'YAML configuration file (env HYGROCAST_CONFIG)', process.env.HYGROCAST_CONFIG)
    .parse();
  const opts = program.opts<{ config?: string }>();
  runGateway(opts.config).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`hygrocast: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
