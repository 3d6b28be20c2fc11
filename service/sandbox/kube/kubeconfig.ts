import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

export interface SandboxKubeconfigOptions {
  /** API server URL, e.g. `http://127.0.0.1:43121`. */
  server: string;
  /** Where to write it; default a new temporary directory. */
  path?: string;
  namespace?: string;
  /** The bearer token of its user; default `sandbox`. */
  token?: string;
}

/**
 * Writes a kubeconfig for a plain-HTTP sandbox API server and returns its path. client-node refuses
 * `http:` clusters unless `insecure-skip-tls-verify` is set, hence the flag: never for a real cluster.
 */
export function writeSandboxKubeconfig(options: SandboxKubeconfigOptions): string {
  const path = options.path ?? join(mkdtempSync(join(tmpdir(), 'kube-sandbox-')), 'kubeconfig');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'sandbox', cluster: { server: options.server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'sandbox', user: { token: options.token ?? 'sandbox' } }],
    contexts: [
      {
        name: 'sandbox',
        context: { cluster: 'sandbox', user: 'sandbox', namespace: options.namespace ?? 'default' },
      },
    ],
    'current-context': 'sandbox',
  };
  writeFileSync(path, stringify(config), { mode: 0o600 });
  return path;
}
