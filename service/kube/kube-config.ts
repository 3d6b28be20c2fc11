import { KubeConfig } from '@kubernetes/client-node/dist/config.js';

export { KubeConfig };

/**
 * The service's Kubernetes configuration, loaded by @kubernetes/client-node: the kubeconfig files
 * of `KUBECONFIG` (joined with `:`; merged by the library, the first file's current-context
 * winning as with kubectl) or, without one, the pod's service account. Credentials (token, token
 * file, client certificate, exec plugin, OIDC) and TLS are the library's; see KubeApi.
 *
 * The import is client-node's config module, not its index: the index also re-exports the
 * generated API classes, which the service does not use (the image's bundle then leaves them out).
 * `serviceAccountPrefix` puts the service account's files under another root (tests).
 */
export function loadKubeConfig(kubeconfig?: string, serviceAccountPrefix = ''): KubeConfig {
  const config = new KubeConfig();
  if (!kubeconfig) {
    if (!process.env.KUBERNETES_SERVICE_HOST || !process.env.KUBERNETES_SERVICE_PORT) {
      throw new Error(
        'not running in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set, and no KUBECONFIG was given',
      );
    }
    config.loadFromCluster(serviceAccountPrefix);
    return config;
  }
  const files = kubeconfig.split(':').filter(Boolean);
  try {
    files.forEach((file, i) => {
      if (i === 0) return config.loadFromFile(file);
      const next = new KubeConfig();
      next.loadFromFile(file);
      config.mergeConfig(next, true);
    });
  } catch (err) {
    throw new Error(`kubeconfig ${kubeconfig}: ${(err as Error).message}`, { cause: err });
  }
  const context = config.getCurrentContext();
  if (!config.getCurrentCluster()) {
    throw new Error(
      `kubeconfig ${kubeconfig}: ${context ? `the current-context "${context}" names no cluster it defines` : 'no current-context'}`,
    );
  }
  return config;
}
