import type { ClusterAccess } from './argocd-tier.js';

/** The real cluster the Argo CD scenarios run on. */
export interface ArgoCdCluster {
  access: ClusterAccess;
  stop(): Promise<void>;
}

/** Placeholder until the cluster harness of the real tier is on main. */
export async function startClusterForArgoCd(): Promise<ArgoCdCluster> {
  const admin = process.env.KEPTN_GITOPS_REAL_ADMIN_KUBECONFIG;
  if (!admin) throw new Error('no cluster');
  return { access: { adminKubeconfig: admin, serviceKubeconfig: admin, serviceNamespace: 'keptn' }, stop: async () => undefined };
}
