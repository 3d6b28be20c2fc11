import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';
import { execCredentialAuth } from './exec-credential.js';

/** Where the service account's credentials are mounted in a pod. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** What a request needs besides TLS: the Authorization header, when there is one. */
export interface KubeAuth {
  authorization(): Promise<string | undefined>;
}

/** TLS settings for the API server connection, PEM contents (never paths). */
export interface KubeTls {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
  servername?: string;
}

/** Where the API server is and how to authenticate to it: what the service reads from a kubeconfig or its pod. */
export interface KubeConfig {
  server: string;
  /** The context's namespace (kubeconfig) or the pod's (in-cluster), when known. */
  namespace?: string;
  tls: KubeTls;
  auth: KubeAuth;
  /** Where it came from, for messages: the kubeconfig path and context, or `in-cluster`. */
  source: string;
}

const NO_AUTH: KubeAuth = { authorization: async () => undefined };

/**
 * A kubeconfig file (tests, the demo, `KUBECONFIG`, whose paths are joined with `:`) or, without
 * one, the in-cluster service account. Supports what clusters use today: bearer tokens (inline or
 * `tokenFile`), client certificates, basic auth and `exec` credential plugins. The legacy
 * `auth-provider` plugins are refused with a message that says to use `exec`.
 */
export function loadKubeConfig(kubeconfigPath?: string): KubeConfig {
  return kubeconfigPath ? loadFromFiles(kubeconfigPath) : loadInCluster();
}

/** The pod's service account; `dir` and `env` are parameters for tests. */
export function loadInCluster(dir = SERVICE_ACCOUNT_DIR, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) throw new Error('not running in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set, and no KUBECONFIG was given');
  const tokenFile = `${dir}/token`;
  readFile(tokenFile, 'the service account token');
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    namespace: readOptional(`${dir}/namespace`)?.trim(),
    tls: { ca: readFile(`${dir}/ca.crt`, 'the cluster CA'), rejectUnauthorized: true },
    auth: tokenFileAuth(tokenFile),
    source: 'in-cluster',
  };
}

type Named<T> = { name: string } & T;
interface KubeconfigFile {
  clusters?: Named<{ cluster?: Record<string, unknown> }>[];
  users?: Named<{ user?: Record<string, unknown> }>[];
  contexts?: Named<{ context?: { cluster?: string; user?: string; namespace?: string } }>[];
  'current-context'?: string;
}

/** Merges the files as kubectl does: the first to name a cluster, user, context or current-context wins. */
function loadFromFiles(paths: string): KubeConfig {
  const clusters = new Map<string, { entry: Record<string, unknown>; base: string }>();
  const users = new Map<string, { entry: Record<string, unknown>; base: string }>();
  const contexts = new Map<string, { cluster?: string; user?: string; namespace?: string }>();
  let current: string | undefined;
  const files = paths.split(':').filter(Boolean);
  for (const path of files) {
    const file = parseKubeconfig(path);
    const base = dirname(resolve(path));
    for (const c of file.clusters ?? []) if (!clusters.has(c.name)) clusters.set(c.name, { entry: c.cluster ?? {}, base });
    for (const u of file.users ?? []) if (!users.has(u.name)) users.set(u.name, { entry: u.user ?? {}, base });
    for (const c of file.contexts ?? []) if (!contexts.has(c.name)) contexts.set(c.name, c.context ?? {});
    current ??= file['current-context'] || undefined;
  }
  const where = files.join(':');
  if (!current) throw new Error(`kubeconfig ${where} has no current-context`);
  const context = contexts.get(current);
  if (!context) throw new Error(`kubeconfig ${where}: current-context "${current}" is not among its contexts`);
  const cluster = context.cluster ? clusters.get(context.cluster) : undefined;
  if (!cluster) throw new Error(`kubeconfig ${where}: context "${current}" names cluster "${context.cluster ?? ''}", which it does not define`);
  const user = context.user ? users.get(context.user) : undefined;
  const source = `kubeconfig ${where}, context ${current}`;
  const server = stringField(cluster.entry, 'server');
  if (!server) throw new Error(`${source}: cluster "${context.cluster}" has no server`);
  if (cluster.entry['proxy-url']) throw new Error(`${source}: cluster "${context.cluster}" sets proxy-url, which this service does not support`);
  const tls: KubeTls = {
    ca: pem(cluster.entry, 'certificate-authority', cluster.base, source),
    rejectUnauthorized: cluster.entry['insecure-skip-tls-verify'] !== true,
    servername: stringField(cluster.entry, 'tls-server-name'),
  };
  let auth = NO_AUTH;
  if (user) {
    tls.cert = pem(user.entry, 'client-certificate', user.base, source);
    tls.key = pem(user.entry, 'client-key', user.base, source);
    auth = userAuth(user.entry, user.base, `${source}, user ${context.user}`);
  }
  return { server: server.replace(/\/+$/, ''), namespace: context.namespace, tls, auth, source };
}

function parseKubeconfig(path: string): KubeconfigFile {
  const text = readFile(path, 'the kubeconfig');
  let parsed: unknown;
  try {
    parsed = parse(text, { logLevel: 'error' });
  } catch (err) {
    throw new Error(`kubeconfig ${path} is not valid YAML: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`kubeconfig ${path} is not a YAML mapping`);
  return parsed as KubeconfigFile;
}

function userAuth(user: Record<string, unknown>, base: string, source: string): KubeAuth {
  const token = stringField(user, 'token');
  if (token) return { authorization: async () => `Bearer ${token}` };
  const tokenFile = stringField(user, 'tokenFile');
  if (tokenFile) return tokenFileAuth(resolve(base, tokenFile));
  const username = stringField(user, 'username');
  if (username) {
    const basic = Buffer.from(`${username}:${stringField(user, 'password') ?? ''}`).toString('base64');
    return { authorization: async () => `Basic ${basic}` };
  }
  if (user.exec && typeof user.exec === 'object') return execCredentialAuth(user.exec as Record<string, unknown>, source, base);
  const provider = (user['auth-provider'] as { name?: string } | undefined)?.name;
  if (provider) throw new Error(`${source}: auth-provider "${provider}" is not supported; use an exec credential plugin (e.g. kubelogin, gke-gcloud-auth-plugin)`);
  return NO_AUTH;
}

/** How long a token read from a file is used before reading the file again (bound tokens rotate). */
const TOKEN_FILE_REFRESH_MS = 60_000;

function tokenFileAuth(path: string): KubeAuth {
  let cached: { token: string; readAt: number } | undefined;
  return {
    authorization: async () => {
      if (!cached || Date.now() - cached.readAt > TOKEN_FILE_REFRESH_MS) cached = { token: readFile(path, 'the token file').trim(), readAt: Date.now() };
      return `Bearer ${cached.token}`;
    },
  };
}

/** `<name>-data` (base64) or the file `<name>` (relative to the kubeconfig), as PEM text. */
function pem(entry: Record<string, unknown>, name: string, base: string, source: string): string | undefined {
  const data = stringField(entry, `${name}-data`);
  if (data) return Buffer.from(data, 'base64').toString('utf8');
  const file = stringField(entry, name);
  if (!file) return undefined;
  return readFile(isAbsolute(file) ? file : resolve(base, file), `${name} of ${source}`);
}

function stringField(entry: Record<string, unknown>, name: string): string | undefined {
  const value = entry[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function readFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${what} (${path}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
