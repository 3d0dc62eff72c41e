import { hashPassword } from './auth.ts';

/**
 * Prints the scrypt hash of a password for `mqtt.users[].passwordHash`:
 *   tsx gateway/broker/hash-password.ts            (reads the password from stdin, so it stays out of the shell history)
 *   tsx gateway/broker/hash-password.ts <password>
 */
async function main(): Promise<void> {
  let password = process.argv[2];
  if (password === undefined) {
    if (process.stdin.isTTY) process.stderr.write('password: ');
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
  if (password.length === 0) {
    process.stderr.write('hash-password: empty password; give one as the argument or on stdin\n');
    process.exitCode = 2;
    return;
  }
  process.stdout.write(`${hashPassword(password)}\n`);
}

await main();
