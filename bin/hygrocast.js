#!/usr/bin/env node
// The `hygrocast` command (package.json "bin"): runs cli/hygrocast.ts through tsx, which ships
// as a runtime dependency, so the TypeScript sources run as they are, with no build step.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'hygrocast.ts');
const child = spawn(process.execPath, ['--import', 'tsx', cli, ...process.argv.slice(2)], { stdio: 'inherit' });
// Ctrl-C reaches the child through the terminal; SIGTERM (systemd, kill) is forwarded to it.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + 15 : 1)));
