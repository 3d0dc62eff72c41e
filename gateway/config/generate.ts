import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { configJsonSchemaText, configMarkdown } from './docs.ts';

/** Rewrites config.schema.json and docs/configuration.md from gateway/config/schema.ts. */
export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
export const SCHEMA_FILE = path.join(REPO_ROOT, 'config.schema.json');
export const DOCS_FILE = path.join(REPO_ROOT, 'docs/configuration.md');

if (process.argv[1]?.endsWith('generate.ts')) {
  writeFileSync(SCHEMA_FILE, configJsonSchemaText());
  writeFileSync(DOCS_FILE, configMarkdown());
  process.stdout.write(`wrote ${path.relative(REPO_ROOT, SCHEMA_FILE)} and ${path.relative(REPO_ROOT, DOCS_FILE)}\n`);
}
