import { stringify } from 'yaml';
import { ARGOCD_NAMESPACE } from './argocd.js';

/** The namespace the Argo CD applications deploy to. */
export const WORKLOAD_NAMESPACE = 'shop';

export interface DeploymentSpec {
  name: string;
  /** Left out: the API server rejects the Deployment (an invalid manifest). */
  image?: string;
  /** `link.argocd.argoproj.io/external-link`: what Argo CD reports in `summary.externalURLs`. */
  externalUrl?: string;
  /** Pods only schedule on a node of this name: until the test adds it, they stay Pending (Progressing). */
  nodeName?: string;
  progressDeadlineSeconds?: number;
  /** `argocd.argoproj.io/sync-wave`. */
  wave?: number;
}

/** A Deployment as the application's Git repository holds it. */
export function deployment(spec: DeploymentSpec): string {
  const annotations: Record<string, string> = {};
  if (spec.externalUrl) annotations['link.argocd.argoproj.io/external-link'] = spec.externalUrl;
  if (spec.wave !== undefined) annotations['argocd.argoproj.io/sync-wave'] = String(spec.wave);
  const labels = { app: spec.name };
  return stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: spec.name,
      namespace: WORKLOAD_NAMESPACE,
      labels,
      ...(Object.keys(annotations).length ? { annotations } : {}),
    },
    spec: {
      replicas: 1,
      ...(spec.progressDeadlineSeconds ? { progressDeadlineSeconds: spec.progressDeadlineSeconds } : {}),
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [{ name: spec.name, ...(spec.image ? { image: spec.image } : {}) }],
          ...(spec.nodeName ? { nodeSelector: { 'kubernetes.io/hostname': spec.nodeName } } : {}),
        },
      },
    },
  });
}

export interface ApplicationSpec {
  name: string;
  repoUrl: string;
  path: string;
  automated?: boolean;
  /** Subscribes the application to the four keptn-gitops notification triggers of docs/argocd. */
  notifications?: boolean;
}

const SUBSCRIBED_TRIGGERS = ['on-out-of-sync', 'on-deployed', 'on-sync-failed', 'on-health-degraded'];

/**
 * An Argo CD Application in the default project, deploying `path` of the repository to the cluster it runs
 * in.
 */
export function application(spec: ApplicationSpec): object {
  const annotations = spec.notifications
    ? Object.fromEntries(
        SUBSCRIBED_TRIGGERS.map((t) => [`notifications.argoproj.io/subscribe.${t}.keptn-gitops`, '']),
      )
    : undefined;
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: spec.name, namespace: ARGOCD_NAMESPACE, ...(annotations ? { annotations } : {}) },
    spec: {
      project: 'default',
      source: { repoURL: spec.repoUrl, path: spec.path, targetRevision: 'main' },
      destination: { server: 'https://kubernetes.default.svc', namespace: WORKLOAD_NAMESPACE },
      ...(spec.automated ? { syncPolicy: { automated: {} } } : {}),
    },
  };
}
