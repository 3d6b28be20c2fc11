import { stringify } from 'yaml';
import { FLUX_NAMESPACE } from './flux.js';

/** Long enough that only a reconcile request (ours, the service's) makes a controller act during a test. */
const IDLE_INTERVAL = '1h';

export function gitRepository(name: string, url: string): object {
  return {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'GitRepository',
    metadata: { name, namespace: FLUX_NAMESPACE },
    spec: { url, interval: IDLE_INTERVAL, ref: { branch: 'main' } },
  };
}

export function kustomization(
  name: string,
  options: { repository: string; targetNamespace: string; timeout?: string; suspend?: boolean },
): object {
  return {
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name, namespace: FLUX_NAMESPACE },
    spec: {
      interval: IDLE_INTERVAL,
      path: './',
      prune: true,
      wait: true,
      timeout: options.timeout ?? '1m',
      targetNamespace: options.targetNamespace,
      sourceRef: { kind: 'GitRepository', name: options.repository },
      ...(options.suspend ? { suspend: true } : {}),
    },
  };
}

export function helmRepository(name: string, url: string): object {
  return {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'HelmRepository',
    metadata: { name, namespace: FLUX_NAMESPACE },
    spec: { url, interval: IDLE_INTERVAL },
  };
}

export function helmRelease(
  name: string,
  options: { chart: string; version: string; repository: string; targetNamespace: string },
): object {
  return {
    apiVersion: 'helm.toolkit.fluxcd.io/v2',
    kind: 'HelmRelease',
    metadata: { name, namespace: FLUX_NAMESPACE },
    spec: {
      interval: IDLE_INTERVAL,
      targetNamespace: options.targetNamespace,
      timeout: '1m',
      chart: {
        spec: {
          chart: options.chart,
          version: options.version,
          interval: IDLE_INTERVAL,
          sourceRef: { kind: 'HelmRepository', name: options.repository },
        },
      },
    },
  };
}

/**
 * A Deployment as a commit to a Git repository holds it (`deployment.yaml`); `nodeSelector` can keep its Pods
 * from ever being scheduled.
 */
export function deploymentYaml(name: string, image: string, nodeSelector?: Record<string, string>): string {
  return stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name, image }], ...(nodeSelector ? { nodeSelector } : {}) },
      },
    },
  });
}

/** The files of a tiny chart whose Deployment's image tag is the chart version. */
export function chartFiles(name: string): Record<string, string> {
  return {
    'Chart.yaml': stringify({ apiVersion: 'v2', name, version: '0.0.0', appVersion: '1' }),
    'templates/deployment.yaml': deploymentYaml(name, `registry.invalid/${name}:{{ .Chart.Version }}`),
  };
}
