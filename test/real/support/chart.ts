import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../support/paths.js';
import type { RealCluster } from './cluster.js';
import { helm } from './helm-repo.js';

export const CHART_DIR = join(repoRoot, 'chart');
export const RELEASE = 'keptn-gitops';
export const RELEASE_NAMESPACE = 'keptn';

/**
 * What `helm install` of the project's chart left on the real cluster, and how to act as its ServiceAccount.
 */
export interface InstalledChart {
  /** The ServiceAccount the chart created and its RBAC binds. */
  serviceAccount: string;
  /** A kubeconfig with that ServiceAccount's token: every call is judged by the chart's RBAC. */
  kubeconfig: string;
  /** The targets file as the chart's ConfigMap holds it. */
  targetsFile: string;
}

/** The real helm against the cluster's admin kubeconfig, with its own home in the cluster's directory. */
export function clusterHelm(cluster: RealCluster, args: string[]): Promise<string> {
  const home = join(cluster.dir, 'helm-home');
  mkdirSync(home, { recursive: true });
  return helm([...args, '--kubeconfig', cluster.adminKubeconfig], { home });
}

/**
 * `helm install` (or upgrade) of the chart with `values`, waiting until its Deployment is available
 * (kwok runs the Pods); then a token of the chart's ServiceAccount and the targets file from its ConfigMap.
 */
export async function installChart(
  cluster: RealCluster,
  values: Record<string, unknown>,
): Promise<InstalledChart> {
  const valuesFile = join(cluster.dir, 'chart-values.json');
  writeFileSync(valuesFile, JSON.stringify(values, null, 2));
  await clusterHelm(cluster, [
    'upgrade',
    '--install',
    RELEASE,
    CHART_DIR,
    '--namespace',
    RELEASE_NAMESPACE,
    '--create-namespace',
    '--values',
    valuesFile,
    '--wait',
    '--timeout',
    '3m',
  ]);
  const selector = `app.kubernetes.io/instance=${RELEASE}`;
  const serviceAccount = (
    await cluster.kubectl([
      'get',
      'serviceaccount',
      '-n',
      RELEASE_NAMESPACE,
      '-l',
      selector,
      '-o',
      'jsonpath={.items[0].metadata.name}',
    ])
  ).trim();
  const configMap = JSON.parse(
    await cluster.kubectl(['get', 'configmap', '-n', RELEASE_NAMESPACE, '-l', selector, '-o', 'json']),
  ) as {
    items: { data?: Record<string, string> }[];
  };
  const targets = configMap.items
    .map((item) => item.data?.['config.yaml'])
    .find((data) => data !== undefined);
  if (targets === undefined)
    throw new Error(`the chart made no ConfigMap with config.yaml in ${RELEASE_NAMESPACE}`);
  return {
    serviceAccount,
    kubeconfig: await cluster.serviceAccountKubeconfig(RELEASE_NAMESPACE, serviceAccount),
    targetsFile: cluster.writeFile('chart-targets.yaml', targets),
  };
}
