import { z } from 'zod';
import { envNameFor } from './load.ts';
import { configSchema } from './schema.ts';

/**
 * Generates the two artefacts derived from gateway/config/schema.ts: the JSON Schema editors
 * use (config.schema.json) and the reference page (docs/configuration.md). Both are committed;
 * gateway/config/docs.test.ts fails when either is out of date, and
 * `npx tsx gateway/config/generate.ts` rewrites them.
 */

/** A JSON Schema node, as far as this generator reads it. */
interface Node {
  type?: string;
  description?: string;
  default?: unknown;
  const?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  pattern?: string;
  properties?: Record<string, Node>;
  required?: string[];
  items?: Node;
  oneOf?: Node[];
}

/** The JSON Schema of the config file as a user writes it (defaults optional), with its id. */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: 'input' });
  return { ...schema, $id: 'https://github.com/hygrocast/hygrocast/config.schema.json', title: 'hygrocast gateway configuration' };
}

export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

/** Unit of a key from its name (units are in key names, STYLE.md 7) or its description. */
export function unitOf(key: string, node: Node): string {
  if (/Ms$/.test(key)) return 'ms';
  if (/Bytes$/.test(key)) return 'bytes';
  if (/Readings$/.test(key)) return 'readings';
  if (/S$/.test(key) && node.type === 'integer') return 's';
  if (key === 'baudRate') return 'bit/s';
  if (key === 'port') return 'TCP port';
  return '';
}

const code = (v: unknown): string => `\`${JSON.stringify(v)}\``;

function allowed(node: Node): string {
  if (node.const !== undefined) return code(node.const);
  if (node.enum) return node.enum.map(code).join(', ');
  const parts: string[] = [];
  if (node.type) parts.push(node.type);
  if (node.minimum !== undefined && node.maximum !== undefined && node.maximum < Number.MAX_SAFE_INTEGER) parts.push(`${node.minimum} to ${node.maximum}`);
  else if (node.minimum !== undefined) parts.push(`≥ ${node.minimum}`);
  if (node.maxItems !== undefined) parts.push(`${node.minItems ?? 0} to ${node.maxItems} items`);
  if (node.pattern) parts.push(`matching \`${node.pattern}\``);
  return parts.join(', ');
}

function defaultOf(key: string, node: Node, required: boolean): string {
  if (node.default !== undefined) return code(node.default);
  if (node.const !== undefined) return '';
  return required ? '**required**' : '(see description)';
}

type Row = string[];

/** Rows for every scalar key under `node`; objects are flattened into dotted paths. */
function rows(node: Node, path: string[], withEnv: boolean): Row[] {
  const out: Row[] = [];
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const p = [...path, key];
    if (child.type === 'object' && child.properties) {
      out.push(...rows(child, p, withEnv));
      continue;
    }
    const row = [`\`${p.join('.')}\``, child.description ?? '', unitOf(key, child), defaultOf(key, child, node.required?.includes(key) ?? false), allowed(child)];
    if (withEnv) row.push(child.type === 'array' ? '(file only)' : `\`${envNameFor(p)}\``);
    out.push(row);
  }
  return out;
}

function table(header: string[], body: Row[]): string {
  const esc = (cell: string): string => cell.replaceAll('|', '\\|').replaceAll('\n', ' ');
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...body.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

/** docs/configuration.md: every key with its description, unit, default and allowed values. */
export function configMarkdown(): string {
  const schema = configJsonSchema() as Node;
  const sources = schema.properties?.sources;
  const top: Node = { ...schema, properties: Object.fromEntries(Object.entries(schema.properties ?? {}).filter(([k]) => k !== 'sources')) };
  const out = [
    '# Configuration reference',
    '',
    '<!-- Generated from gateway/config/schema.ts by `npx tsx gateway/config/generate.ts`; do not edit by hand. -->',
    '',
    'The gateway reads one YAML file (`hygrocast gateway --config FILE`, or `HYGROCAST_CONFIG=FILE`).',
    'Every key is optional except where marked required; a missing key takes its default, so an',
    'empty file (or no file at all) runs two simulated sensors. Unknown keys, wrong types and',
    'out-of-range values are refused before anything starts, every problem listed at once.',
    '',
    'Editors can check the file as you type: [config.schema.json](../config.schema.json) is its JSON',
    'Schema. With the YAML language server (VS Code\'s YAML extension), put this first line in the file:',
    '',
    '```yaml',
    '# yaml-language-server: $schema=./config.schema.json',
    '```',
    '',
    '## Environment overrides',
    '',
    'Every scalar key can be overridden by an environment variable named after its path:',
    '`HYGROCAST_` followed by the path in upper case, a `_` between levels and between words',
    '(`mqtt.port` → `HYGROCAST_MQTT_PORT`, `store.flushIntervalMs` → `HYGROCAST_STORE_FLUSH_INTERVAL_MS`).',
    "A value is read by its key's type: a string key takes the value exactly as written (an empty",
    'value is an empty string; `#`, `:` and leading zeros are kept), a number key a number, a boolean',
    'key `true`/`false`, `yes`/`no`, `on`/`off` or `1`/`0`; anything else is an error naming the',
    'variable. Overrides win over the file; they suit systemd units',
    '(`Environment=HYGROCAST_DATA_DIR=/var/lib/hygrocast`). An unknown `HYGROCAST_` variable is refused',
    'like an unknown key, so a typo never goes unnoticed (`HYGROCAST_CONFIG` and the test suite\'s',
    '`HYGROCAST_TEST_*` are not overrides). `sources` is a list and can only be set in the file.',
    '',
    '## Keys',
    '',
    table(['key', 'description', 'unit', 'default', 'allowed', 'environment'], rows(top, [], true)),
    '',
    '## Sources',
    '',
    `\`sources\`: ${sources?.description ?? ''} ${allowed(sources ?? {})}. Default: ${code(sources?.default)}.`,
    '',
    'Each entry is one of the following, chosen by its `type`.',
  ];
  for (const variant of sources?.items?.oneOf ?? []) {
    const kind = variant.properties?.type;
    out.push('', `### \`type: ${String(kind?.const)}\``, '', kind?.description ?? '', '', table(['key', 'description', 'unit', 'default', 'allowed'], rows(variant, ['sources[]'], false)));
  }
  return `${out.join('\n')}\n`;
}
