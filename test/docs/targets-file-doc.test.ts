import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { parseTargetsFile } from '../../service/config/targets-loader.js';
import { targetsFileSchema } from '../../service/config/targets-schema.js';
import { repoRoot } from '../support/paths.js';

const DOC = readFileSync(join(repoRoot, 'docs', 'targets-file.md'), 'utf8');

interface Row {
  type: string;
  default: string;
}

/** The "Every key" table: key -> type and default columns. */
function documentedKeys(): Map<string, Row> {
  const section = DOC.slice(
    DOC.indexOf('## Every key'),
    DOC.indexOf('\n## ', DOC.indexOf('## Every key') + 1),
  );
  const rows = new Map<string, Row>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const key = /^`([^`]+)`$/.exec(cells[1] ?? '')?.[1];
    if (key) rows.set(key, { type: cells[2]!, default: cells[3]! });
  }
  return rows;
}

interface SchemaKey {
  required: boolean;
  default?: unknown;
  enum?: string[];
  type: string;
}

/** Every key of the schema, by path (`a.b[].c`), from its JSON Schema. */
function schemaKeys(
  node: Record<string, unknown>,
  path = '',
  out = new Map<string, SchemaKey>(),
): Map<string, SchemaKey> {
  const properties = (node.properties ?? {}) as Record<string, Record<string, unknown>>;
  const required = (node.required ?? []) as string[];
  for (const [name, child] of Object.entries(properties)) {
    const key = path ? `${path}.${name}` : name;
    const variants = (child.anyOf as Record<string, unknown>[] | undefined) ?? [child];
    out.set(key, {
      required: required.includes(name),
      default: child.default,
      enum: child.enum as string[] | undefined,
      type: variants.map((v) => String(v.type)).join('|'),
    });
    schemaKeys(child, key, out);
    const items = child.items as Record<string, unknown> | undefined;
    if (items?.properties) schemaKeys(items, `${key}[]`, out);
  }
  return out;
}

const TYPE_WORDS: Record<string, RegExp> = {
  object: /^object$/,
  array: /^list/,
  boolean: /^boolean$/,
  'string|array': /^string or list$/,
  string: /^(string|env var name|duration|`)/,
};

describe('docs/targets-file.md', () => {
  const schema = schemaKeys(
    z.toJSONSchema(targetsFileSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>,
  );
  const documented = documentedKeys();

  it('lists every key the schema accepts, and no other', () => {
    expect([...documented.keys()].sort()).to.deep.equal([...schema.keys()].sort());
  });

  it('gives each key its type, its allowed values, whether it is required and its default', () => {
    for (const [key, spec] of schema) {
      const row = documented.get(key)!;
      expect(row.type, key).to.match(TYPE_WORDS[spec.type] ?? /^$/);
      for (const value of spec.enum ?? []) expect(row.type, key).to.include(`\`${value}\``);
      expect(row.type.endsWith(', required'), `${key} required`).to.equal(spec.required);
      // An object's default is the defaults of its keys, documented there.
      const expected =
        spec.default === undefined || spec.type === 'object'
          ? ''
          : Array.isArray(spec.default)
            ? '`[]`'
            : `\`${String(spec.default)}\``;
      expect(row.default, `${key} default`).to.equal(expected);
    }
  });

  it('every example is a valid targets file for the service', () => {
    const examples = [...DOC.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(examples.length).to.be.at.least(4);
    const env = { ARGOCD_SERVER: 'argocd.example.com', ARGOCD_AUTH_TOKEN: 't' } as Record<string, string>;
    for (const example of examples) {
      for (const [, name] of example.matchAll(/Env: (\w+)/g)) env[name!] = 'x';
      expect(() => parseTargetsFile(example, 'docs/targets-file.md', env), example).not.to.throw();
    }
  });
});
