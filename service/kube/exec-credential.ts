import { execFile } from 'node:child_process';
import { isAbsolute, resolve } from 'node:path';
import type { KubeAuth } from './kube-config.js';

/** Refresh a token this long before the plugin says it expires. */
const EXPIRY_MARGIN_MS = 30_000;
const PLUGIN_TIMEOUT_MS = 30_000;

interface ExecCredential {
  status?: { token?: string; expirationTimestamp?: string; clientCertificateData?: string };
}

/**
 * A kubeconfig `exec` credential plugin (client.authentication.k8s.io v1/v1beta1), as cloud
 * clusters use (aws eks get-token, gke-gcloud-auth-plugin, kubelogin): run it, use its token until
 * `expirationTimestamp`, run it again. Only token credentials are supported; a plugin that returns
 * a client certificate gets a clear error.
 */
export function execCredentialAuth(exec: Record<string, unknown>, source: string, base: string): KubeAuth {
  const named = typeof exec.command === 'string' ? exec.command : '';
  if (!named) throw new Error(`${source}: exec credential plugin has no command`);
  // As kubectl: a relative path (one with a slash) is relative to the kubeconfig; a bare name is looked up on PATH.
  const command = named.includes('/') && !isAbsolute(named) ? resolve(base, named) : named;
  const args = Array.isArray(exec.args) ? exec.args.map(String) : [];
  const apiVersion = typeof exec.apiVersion === 'string' ? exec.apiVersion : 'client.authentication.k8s.io/v1';
  const extraEnv = Object.fromEntries(
    (Array.isArray(exec.env) ? exec.env : []).map((e: { name?: unknown; value?: unknown }) => [String(e.name), String(e.value ?? '')]),
  );
  let cached: { token: string; expiresAt: number } | undefined;
  let running: Promise<string> | undefined;

  const run = async (): Promise<string> => {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        command,
        args,
        {
          timeout: PLUGIN_TIMEOUT_MS,
          env: { ...process.env, ...extraEnv, KUBERNETES_EXEC_INFO: JSON.stringify({ apiVersion, kind: 'ExecCredential', spec: { interactive: false } }) },
        },
        (err, out, stderr) => {
          if (err) reject(new Error(`${source}: exec credential plugin "${command}" failed: ${(stderr || err.message).trim().slice(0, 300)}`));
          else resolve(out);
        },
      );
    });
    let credential: ExecCredential;
    try {
      credential = JSON.parse(stdout) as ExecCredential;
    } catch {
      throw new Error(`${source}: exec credential plugin "${command}" did not print an ExecCredential as JSON`);
    }
    const token = credential.status?.token;
    if (!token) {
      const why = credential.status?.clientCertificateData ? 'returned a client certificate, which this service does not support' : 'returned no token';
      throw new Error(`${source}: exec credential plugin "${command}" ${why}`);
    }
    const expires = credential.status?.expirationTimestamp ? Date.parse(credential.status.expirationTimestamp) : Number.POSITIVE_INFINITY;
    cached = { token, expiresAt: Number.isNaN(expires) ? Number.POSITIVE_INFINITY : expires };
    return token;
  };

  return {
    authorization: async () => {
      if (cached && Date.now() < cached.expiresAt - EXPIRY_MARGIN_MS) return `Bearer ${cached.token}`;
      // Concurrent requests share one plugin run.
      running ??= run().finally(() => (running = undefined));
      return `Bearer ${await running}`;
    },
  };
}
