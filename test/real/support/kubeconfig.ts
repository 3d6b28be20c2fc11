import { readFileSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

export type KubeconfigUser = { clientCertificate: string; clientKey: string } | { token: string };

/** Writes a kubeconfig for one server and one user (certificate files inlined, so the file stands alone). */
export function writeKubeconfig(
  path: string,
  options: { server: string; caCert: string; user: KubeconfigUser; namespace?: string },
): string {
  const base64 = (file: string) => readFileSync(file).toString('base64');
  const user =
    'token' in options.user
      ? { token: options.user.token }
      : {
          'client-certificate-data': base64(options.user.clientCertificate),
          'client-key-data': base64(options.user.clientKey),
        };
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'real',
        cluster: { server: options.server, 'certificate-authority-data': base64(options.caCert) },
      },
    ],
    users: [{ name: 'real', user }],
    contexts: [
      {
        name: 'real',
        context: {
          cluster: 'real',
          user: 'real',
          ...(options.namespace ? { namespace: options.namespace } : {}),
        },
      },
    ],
    'current-context': 'real',
  };
  writeFileSync(path, stringify(config), { mode: 0o600 });
  return path;
}
