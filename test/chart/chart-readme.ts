import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, isScalar, parseDocument, stringify, type Pair, type YAMLMap } from 'yaml';
import { chartDir, readChartYaml, valuesSchema } from './chart-files.js';

/**
 * chart/README.md, generated from chart/values.schema.json (every value, its type and allowed
 * values) with the defaults and `# --` comments of chart/values.yaml. `npm run chart:readme`
 * writes it; test/chart/chart-readme.test.ts fails when it is not current.
 */
export const CHART_README = join(chartDir, 'README.md');

type Schema = Record<string, unknown>;

interface Row {
  path: string;
  type: string;
  default: string;
  description: string;
}

export function renderChartReadme(): string {
  const chart = readChartYaml('Chart.yaml') as {
    name: string;
    version: string;
    appVersion: string;
    description: string;
  };
  const rows: Row[] = [];
  collect(valuesSchema(), valuesMap(), '', rows);
  const table = rows.map((r) => `| \`${r.path}\` | ${r.type} | ${r.default} | ${r.description} |`).join('\n');
  return `<!-- Generated from values.schema.json and values.yaml by \`npm run chart:readme\`; do not edit. -->
# ${chart.name}

${chart.description.trim()}

Chart version ${chart.version}, app version ${chart.appVersion}. Installation, the Secrets it expects
and the two modes: [docs/install.md](../docs/install.md). The targets file (\`targets.config\`):
[docs/targets-file.md](../docs/targets-file.md).

\`\`\`sh
helm install keptn-gitops-service oci://ghcr.io/keptn-sandbox/charts/${chart.name} --version ${chart.version} -n keptn -f my-values.yaml
\`\`\`

Every value is checked by \`values.schema.json\`: an unknown key or a wrong type fails \`helm install\`.

## Values

| value | type | default | description |
|---|---|---|---|
${table}
`;
}

function valuesMap(): YAMLMap {
  const doc = parseDocument(readFileSync(join(chartDir, 'values.yaml'), 'utf8'));
  return doc.contents as YAMLMap;
}

/** One row per schema property; descends where values.yaml has a mapping with keys there. */
function collect(schema: Schema, values: YAMLMap | undefined, prefix: string, rows: Row[]): void {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  for (const [name, child] of Object.entries(properties)) {
    if (prefix === '' && name === 'global') continue;
    const path = `${prefix}${name}`;
    const pair = values?.items.find((p) => isScalar(p.key) && p.key.value === name) as Pair | undefined;
    const value = pair?.value;
    const descend =
      isMap(value) && value.items.length > 0 && child.properties !== undefined && path !== 'targets.config';
    // A comment above a mapping's first key is kept by yaml as the mapping's own comment.
    const comment =
      (pair?.key as { commentBefore?: string } | undefined)?.commentBefore ??
      (pair && values?.items[0] === pair ? (values.commentBefore ?? undefined) : undefined);
    rows.push({
      path,
      type: typeOf(child, required(schema).includes(name)),
      default: defaultOf(value),
      description: describe(child, comment),
    });
    if (descend) collect(child, value as YAMLMap, `${path}.`, rows);
  }
}

function required(schema: Schema): string[] {
  return (schema.required ?? []) as string[];
}

function typeOf(schema: Schema, isRequired: boolean): string {
  const variants = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  const types = variants ? variants.map((v) => v.type ?? 'object') : [schema.type ?? 'any'];
  let text = types.flat().join(' or ');
  if (Array.isArray(schema.enum)) text = schema.enum.map((e) => `\`${String(e)}\``).join(', ');
  return isRequired ? `${text}, required` : text;
}

function defaultOf(value: unknown): string {
  if (value === undefined) return '';
  const js = (value as { toJSON?: () => unknown }).toJSON
    ? (value as { toJSON: () => unknown }).toJSON()
    : isScalar(value)
      ? value.value
      : value;
  const text = js === '' ? '""' : stringify(js, { collectionStyle: 'flow', lineWidth: 0 }).trim();
  return text.length > 60 ? 'see values.yaml' : `\`${text.replaceAll('|', '\\|')}\``;
}

/** The `# --` comment of values.yaml (the fuller text), else the schema's description. */
function describe(schema: Schema, comment: string | undefined): string {
  const fromSchema = typeof schema.description === 'string' ? schema.description : undefined;
  const fromValues = comment?.includes('-- ') ? comment.slice(comment.indexOf('-- ') + 3) : undefined;
  return (fromValues ?? fromSchema ?? '')
    .replace(/\s*\n\s*/g, ' ')
    .replaceAll('|', '\\|')
    .trim();
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--write')) {
  writeFileSync(CHART_README, renderChartReadme());
  process.stdout.write(`wrote ${CHART_README}\n`);
}
