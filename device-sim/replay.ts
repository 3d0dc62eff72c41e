/**
 * `hygrocast replay <csv> --column RH_1 [--temp-column T1] [--speedup 600] (--pty <link> | --port <path>) [fault flags]`:
 * the device-sim CLI with `--replay <csv>` (device-sim/cli.ts has every flag; the replay itself
 * is device-sim/replay-data.ts). An entry point only: it parses nothing itself.
 */
const args = process.argv.slice(2);
if (args.length > 0 && !args[0]?.startsWith('-')) process.argv.splice(2, 0, '--replay');
await import('./cli.ts');
