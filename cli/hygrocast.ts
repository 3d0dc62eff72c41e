import { Command } from 'commander';
import { formatReport, runDoctor } from './doctor/doctor.ts';
import { INSTALL_DIR, MissingCommandError, runScript } from './passthrough.ts';
import { formatPorts, listPorts } from './ports.ts';

/** Version of the command (kept equal to gateway/app.ts VERSION by cli/hygrocast.test.ts). */
export const CLI_VERSION = '0.1.0';

/** A subcommand whose options belong to another script: everything after its name is passed on. */
/** Subcommands of `hygrocast central` handled by central/cli.ts rather than the server itself. */
const CENTRAL_OPERATOR_COMMANDS = new Set(['keygen', 'publish', 'retrain', 'models']);

function passthrough(program: Command, name: string, description: string, file: string, pendingNote = ''): void {
  program
    .command(name)
    .description(description)
    .helpOption(false) // `hygrocast NAME --help` shows the script's own help
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]', `arguments for ${file} (try: hygrocast ${name} --help)`)
    .action(async (args: string[]) => {
      process.exitCode = await runScript(file, args, pendingNote);
    });
}

/**
 * The `hygrocast` command. Subcommands: gateway, central, sim, replay, ports, model, doctor.
 * Exit codes: 0 success, 1 failure (doctor: a problem found), 2 invalid configuration or usage.
 */
export function buildProgram(): Command {
  const program = new Command('hygrocast')
    .description('Edge gateway for humidity sensing with local forecasting.')
    .version(CLI_VERSION)
    .showHelpAfterError()
    .configureOutput({ outputError: (text, write) => write(`hygrocast: ${text}`) });

  program
    .command('gateway')
    .description('Run the gateway: sensors, store, MQTT broker, forecasts, dashboard (embedded defaults without a config file).')
    .option('-c, --config <file>', 'YAML configuration file (env HYGROCAST_CONFIG; reference: docs/configuration.md)', process.env.HYGROCAST_CONFIG)
    .action(async (o: { config?: string }) => {
      const { runGateway } = await import('../gateway/main.ts');
      process.exitCode = await runGateway(o.config);
    });

  program
    .command('central')
    .description('The central server: `hygrocast central [--config central.yaml]` runs it; `hygrocast central keygen|publish|retrain|models` are its operator commands (central/README.md).')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]', 'arguments for central/main.ts, or an operator command for central/cli.ts')
    .action(async (args: string[]) => {
      const operator = args[0] !== undefined && CENTRAL_OPERATOR_COMMANDS.has(args[0]);
      process.exitCode = await runScript(operator ? 'central/cli.ts' : 'central/main.ts', args);
    });
  passthrough(program, 'sim', 'Simulated sensor firmware on a serial device or a socat pty pair (device-sim).', 'device-sim/cli.ts');
  passthrough(program, 'replay', 'Replay a recorded humidity data set through a simulated device (device-sim).', 'device-sim/replay.ts', 'replay is not part of this release yet');

  program
    .command('ports')
    .description('List serial ports with their stable /dev/serial/by-id names (for sources[].path).')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const ports = await listPorts();
      process.stdout.write(o.json ? `${JSON.stringify(ports, null, 2)}\n` : formatPorts(ports));
    });

  passthrough(program, 'model', 'Forecasting models: train, eval, inspect (docs/model-contract.md).', 'models/cli.ts');

  program
    .command('doctor')
    .description('Check this machine for the gateway: ports, serial/I2C devices and permissions, disk space, clock sync, model compatibility; says how to fix each problem. Exit 0 when all is well, 1 otherwise.')
    .option('-c, --config <file>', 'YAML configuration file to check (env HYGROCAST_CONFIG)', process.env.HYGROCAST_CONFIG)
    .option('--json', 'print the report as JSON: { ok, checks: [{ id, status, detail, fix }] }')
    .action(async (o: { config?: string; json?: boolean }) => {
      const report = await runDoctor({ configFile: o.config, installDir: INSTALL_DIR });
      process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
      process.exitCode = report.ok ? 0 : 1;
    });

  return program;
}

const isMain = process.argv[1]?.endsWith('cli/hygrocast.ts') === true;
if (isMain) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      if (err instanceof MissingCommandError) {
        process.stderr.write(`hygrocast: ${err.message}\n`);
        process.exitCode = 1;
        return;
      }
      process.stderr.write(`hygrocast: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    });
}
