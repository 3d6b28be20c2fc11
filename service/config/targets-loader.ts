import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import type { ArgoInstance, GitopsConfig, WebhookSecrets } from './gitops-config.js';
import { Secret } from './secret.js';
import { targetsFileSchema, type ArgoInstanceSpec, type TargetsFile } from './targets-schema.js';

/** The targets file cannot be used; the message names the file, the path inside it and what is wrong. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`invalid targets file ${file}:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export function loadTargetsFile(file: string, env: Env = process.env): GitopsConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as Error).message}`]);
  }
  return parseTargetsFile(text, file, env);
}

export function parseTargetsFile(text: string, file: string, env: Env = process.env): GitopsConfig {
  // Warnings (an unknown tag or directive) are refused too: yaml would print them to stderr and
  // read the value in some way the operator may not have meant.
  const doc = parseDocument(text);
  const problems = [...doc.errors, ...doc.warnings].map((e) => yamlProblem(e, text));
  if (problems.length > 0) throw new ConfigError(file, problems);
  let raw: unknown;
  try {
    raw = doc.toJS() ?? {};
  } catch (err) {
    // e.g. an alias expanded too often (a "billion laughs" file)
    throw new ConfigError(file, [`not valid YAML: ${(err as Error).message.split('\n')[0]}`]);
  }
  const parsed = targetsFileSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(file, parsed.error.issues.map(formatIssue));
  return buildConfig(parsed.data, file, env);
}

/**
 * yaml's message is "<what> at line L, column C:" followed by the source excerpt on the next lines;
 * keep what and where on one line and quote the offending line instead of the excerpt.
 */
function yamlProblem(
  error: { message: string; linePos?: [{ line: number; col: number }, ...unknown[]] },
  text: string,
): string {
  const what = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  if (!error.linePos) return `not valid YAML: ${what}`;
  const { line, col } = error.linePos[0];
  const source = text.split('\n')[line - 1]?.trimEnd();
  return `not valid YAML at line ${line}, column ${col}: ${what}${source ? ` (line ${line}: "${source.trim()}")` : ''}`;
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const path = formatPath(issue.path);
  const message =
    issue.code === 'unrecognized_keys'
      ? `unknown key(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}`
      : issue.message;
  return `${path || '(top level)'}: ${message}`;
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`))
    .join('');
}

function buildConfig(file: TargetsFile, name: string, env: Env): GitopsConfig {
  const problems: string[] = [];
  const readSecret = (varName: string | undefined, path: string): Secret | undefined => {
    if (varName === undefined) return undefined;
    const value = env[varName];
    if (value === undefined || value === '') {
      problems.push(`${path}: environment variable ${varName} is not set`);
      return undefined;
    }
    return new Secret(value);
  };

  const instances = new Map<string, ArgoInstance>();
  const defaultInstance = instanceFromEnv(env);
  if (defaultInstance) instances.set('default', defaultInstance);
  file.argocd.instances.forEach((spec, i) => {
    const instance = instanceFromSpec(spec, `argocd.instances[${i}]`, readSecret);
    if (instances.has(spec.name) && spec.name !== 'default')
      problems.push(`argocd.instances[${i}].name: duplicate instance '${spec.name}'`);
    if (instance) instances.set(spec.name, instance);
  });

  file.targets.forEach((rule, i) => {
    if (rule.argocd && !instances.has(rule.argocd.instance)) {
      const hint =
        rule.argocd.instance === 'default'
          ? ' (set ARGOCD_SERVER and ARGOCD_AUTH_TOKEN, or name an instance)'
          : '';
      problems.push(
        `targets[${i}].argocd.instance: unknown Argo CD instance '${rule.argocd.instance}'${hint}`,
      );
    }
  });

  const webhooks: WebhookSecrets = {
    argocdToken: readSecret(file.webhooks.argocdTokenEnv, 'webhooks.argocdTokenEnv'),
    fluxHmacKey: readSecret(file.webhooks.fluxHmacKeyEnv, 'webhooks.fluxHmacKeyEnv'),
    fluxToken: readSecret(file.webhooks.fluxTokenEnv, 'webhooks.fluxTokenEnv'),
  };
  if (problems.length) throw new ConfigError(name, problems);
  return { file: name, instances, webhooks, rules: file.targets };
}

function instanceFromSpec(
  spec: ArgoInstanceSpec,
  path: string,
  readSecret: (v: string | undefined, p: string) => Secret | undefined,
): ArgoInstance | undefined {
  const common = {
    name: spec.name,
    server: normalizeServer(spec.server),
    caFile: spec.caFile,
    insecure: spec.insecure ?? false,
  };
  if (spec.tokenEnv) {
    const token = readSecret(spec.tokenEnv, `${path}.tokenEnv`);
    return token && { ...common, auth: { kind: 'token', token } };
  }
  const username = readSecret(spec.usernameEnv, `${path}.usernameEnv`);
  const password = readSecret(spec.passwordEnv, `${path}.passwordEnv`);
  return username && password ? { ...common, auth: { kind: 'login', username, password } } : undefined;
}

/** The `default` instance, as the argocd CLI names it: ARGOCD_SERVER and ARGOCD_AUTH_TOKEN. */
function instanceFromEnv(env: Env): ArgoInstance | undefined {
  const server = env.ARGOCD_SERVER;
  if (!server) return undefined;
  const token = env.ARGOCD_AUTH_TOKEN ?? '';
  return {
    name: 'default',
    server: normalizeServer(server),
    auth: { kind: 'token', token: new Secret(token) },
    insecure: env.ARGOCD_INSECURE === 'true',
  };
}

/** `host[:port]` means https, as with the argocd CLI. */
function normalizeServer(server: string): string {
  const withScheme = /^https?:\/\//.test(server) ? server : `https://${server}`;
  return withScheme.replace(/\/+$/, '');
}
