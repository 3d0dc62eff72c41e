import { readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * `npm run bench -- NAME` runs bench/NAME.bench.ts. Every figure is one JSON line on stdout
 * (see bench/figure.ts); progress and logs go to stderr. Each benchmark stays under a minute.
 */
const here = import.meta.dirname;
const available = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .sort();
const name = process.argv[2];
if (!name || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <name>\navailable: ${available.join(', ')}\n`);
  process.exit(2);
}
const mod = (await import(path.join(here, `${name}.bench.ts`))) as { main: () => Promise<void> };
await mod.main();
process.exit(0);
