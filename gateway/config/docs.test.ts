import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configJsonSchemaText, configMarkdown, unitOf } from './docs.ts';
import { DOCS_FILE, SCHEMA_FILE } from './generate.ts';
import { envNameFor, leafPaths } from './load.ts';
import { configSchema } from './schema.ts';

const REGENERATE = 'out of date: run `npx tsx gateway/config/generate.ts` and commit the result';

describe('generated config artefacts', () => {
  it('config.schema.json at the repo root equals the schema generated from gateway/config/schema.ts', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8'), `config.schema.json ${REGENERATE}`).toBe(configJsonSchemaText());
  });

  it('docs/configuration.md equals the page generated from the schema', () => {
    expect(readFileSync(DOCS_FILE, 'utf8'), `docs/configuration.md ${REGENERATE}`).toBe(configMarkdown());
  });

  it('documents every scalar key with a description, its default and its environment variable', () => {
    const md = configMarkdown();
    const defaults = configSchema.parse({}) as Record<string, Record<string, unknown> | unknown>;
    for (const p of leafPaths()) {
      const row = md.split('\n').find((l) => l.startsWith(`| \`${p.join('.')}\` |`));
      expect(row, `no row for ${p.join('.')}`).toBeDefined();
      const cells = row?.split(' | ') ?? [];
      expect(cells[1]?.trim().length, `${p.join('.')} has no description`).toBeGreaterThan(5);
      const value = p.reduce<unknown>((node, k) => (node as Record<string, unknown> | undefined)?.[k], defaults);
      if (value !== undefined) expect(cells[3]).toBe(`\`${JSON.stringify(value)}\``);
      expect(row).toContain(`\`${envNameFor(p)}\``);
    }
  });

  it('documents every field of every source type', () => {
    const md = configMarkdown();
    for (const type of ['sim', 'serial', 'i2c']) expect(md).toContain(`### \`type: ${type}\``);
    expect(md).toMatch(/\| `sources\[\]\.path` \| .+ \| \*\*required\*\* \|/);
  });

  it('the JSON Schema refuses what the config loader refuses: unknown keys and wrong types', () => {
    const schema = JSON.parse(configJsonSchemaText()) as { additionalProperties: boolean; properties: { mqtt: { additionalProperties: boolean; properties: { port: { type: string; maximum: number } } } } };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.mqtt.additionalProperties).toBe(false);
    expect(schema.properties.mqtt.properties.port).toMatchObject({ type: 'integer', maximum: 65535 });
  });

  it('derives units from key names', () => {
    expect(unitOf('flushIntervalMs', { type: 'integer' })).toBe('ms');
    expect(unitOf('retentionBytes', { type: 'integer' })).toBe('bytes');
    expect(unitOf('id', { type: 'string' })).toBe('');
  });
});
