import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { repoRoot } from '../support/paths.js';

/** Reading the Helm chart without helm: values, schema, templates and their static skeleton. */

export const chartDir = join(repoRoot, 'chart');
export const templatesDir = join(chartDir, 'templates');

export type Values = Record<string, unknown>;

export function readChartYaml(...parts: string[]): Values {
  return parse(readFileSync(join(chartDir, ...parts), 'utf8')) as Values;
}

export function defaultValues(): Values {
  return readChartYaml('values.yaml');
}

export function valuesSchema(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as Record<string, unknown>;
}

/** The chart/ci/*.yaml example values files, by file name. */
export function ciValuesFiles(): [string, Values][] {
  return readdirSync(join(chartDir, 'ci'))
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => [f, readChartYaml('ci', f)]);
}

/** The values of the upstream CI's e2e install (.github/e2e/values.yaml). */
export function e2eValues(): Values {
  return parse(readFileSync(join(repoRoot, '.github', 'e2e', 'values.yaml'), 'utf8')) as Values;
}

/** Every file of chart/templates/, by file name. */
export function templates(): [string, string][] {
  return readdirSync(templatesDir)
    .sort()
    .map((f) => [f, readFileSync(join(templatesDir, f), 'utf8')]);
}

export function template(name: string): string {
  return readFileSync(join(templatesDir, name), 'utf8');
}

/**
 * The static part of a template as YAML documents: lines that are only template actions are
 * dropped and inline actions become the string `TPL`. What is left must be well-formed YAML, and
 * is what every rendering of the template has in common.
 */
export function skeleton(text: string): unknown[] {
  const lines = text
    .split('\n')
    .filter((l) => !l.trim().startsWith('{{'))
    .map((l) => l.replace(/"?\{\{[^}]*\}\}"?/g, (m) => (m.startsWith('"') ? '"TPL"' : 'TPL')));
  return parseAllDocuments(lines.join('\n'))
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join('; '));
      return doc.toJS() as unknown;
    })
    .filter((d) => d !== null && d !== undefined);
}

/** The `.Values.a.b` paths a template reads (also through `$.Values`). */
export function valuesPaths(text: string): string[][] {
  const paths = new Set<string>();
  for (const m of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) paths.add(m[1]!.slice(1));
  return [...paths].sort().map((p) => p.split('.'));
}

/** Follows a path through nested objects; `found` is false when a key is missing. */
export function lookup(root: unknown, path: string[]): { found: boolean; value?: unknown } {
  let node: unknown = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || Array.isArray(node) || !(key in node))
      return { found: false };
    node = (node as Record<string, unknown>)[key];
  }
  return { found: true, value: node };
}

/** Follows a path through a JSON schema's nested `properties`. */
export function schemaLookup(schema: unknown, path: string[]): Record<string, unknown> | undefined {
  let node = schema as Record<string, unknown> | undefined;
  for (const key of path) {
    const props = node?.properties as Record<string, Record<string, unknown>> | undefined;
    node = props?.[key];
    if (!node) return undefined;
  }
  return node;
}
