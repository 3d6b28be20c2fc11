import type { ResolvedTarget } from '../config/gitops-config.js';
import type { ResourceRef } from '../kube/kube-api.js';

/**
 * How the service names Flux and Argo CD objects, shared by the deployers (push), the webhooks (pull)
 * and the delivery records: the tools, the Flux kinds' API resources, and the target strings.
 */

export const DELIVERY_TOOLS = { argocd: 'argocd', flux: 'flux' } as const;
export type DeliveryTool = (typeof DELIVERY_TOOLS)[keyof typeof DELIVERY_TOOLS];

/** The Flux kinds the service touches, with the API group/version/plural of each. */
export const FLUX_RESOURCES = {
  Kustomization: {
    group: 'kustomize.toolkit.fluxcd.io',
    version: 'v1',
    plural: 'kustomizations',
    kind: 'Kustomization',
  },
  HelmRelease: {
    group: 'helm.toolkit.fluxcd.io',
    version: 'v2',
    plural: 'helmreleases',
    kind: 'HelmRelease',
  },
  GitRepository: {
    group: 'source.toolkit.fluxcd.io',
    version: 'v1',
    plural: 'gitrepositories',
    kind: 'GitRepository',
  },
  OCIRepository: {
    group: 'source.toolkit.fluxcd.io',
    version: 'v1',
    plural: 'ocirepositories',
    kind: 'OCIRepository',
  },
  Bucket: { group: 'source.toolkit.fluxcd.io', version: 'v1', plural: 'buckets', kind: 'Bucket' },
  HelmChart: { group: 'source.toolkit.fluxcd.io', version: 'v1', plural: 'helmcharts', kind: 'HelmChart' },
} as const satisfies Record<string, ResourceRef>;
export type FluxResourceKind = keyof typeof FLUX_RESOURCES;

/** The Keptn ids we put into `infos` of an Argo CD sync, to recognise our operation later. */
export const INFO_NAMES = { context: 'shkeptncontext', triggeredid: 'triggeredid' } as const;

/** `<Kind>/<namespace>/<name>`: the target string of results, messages and notifications. */
export function targetId(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

/** `Application/<namespace>/<name>` of an Argo CD Application object, as it appears in `gitops.target`. */
export function applicationTarget(
  app: { metadata: { name: string; namespace?: string } },
  fallbackNamespace = 'argocd',
): string {
  return targetId('Application', app.metadata.namespace ?? fallbackNamespace, app.metadata.name);
}

/**
 * The target a delivery record names: `<Kind>/<namespace>/<name>` for Flux,
 * `Application/<appNamespace or ->/<name>` for Argo CD.
 */
export function targetKey(target: ResolvedTarget): string {
  return target.tool === 'flux'
    ? targetId(target.flux.kind, target.flux.namespace, target.flux.name)
    : targetId('Application', target.argocd.appNamespace ?? '-', target.argocd.application);
}

/**
 * The object an `onChange` rule watches, as its seen revisions are stored: the Flux target string, or
 * `Application/<instance>/<appNamespace or empty>/<name>` (two Argo CD instances may hold applications of
 * the same name). Stored keys are made from it: changing the format forgets every revision seen before.
 */
export function watchedObjectKey(target: ResolvedTarget): string {
  if (target.tool === 'flux') return targetKey(target);
  const { instance, appNamespace, application } = target.argocd;
  return `Application/${instance}/${appNamespace ?? ''}/${application}`;
}

/**
 * How a notification finds the delivery following its object: a Flux object by its target string, an
 * Argo CD application by instance and name (a notification carries the application's namespace, which a
 * target without `appNamespace` does not know ahead of time).
 */
export function followKey(tool: DeliveryTool, target: string, instance = 'default'): string {
  if (tool === 'flux') return target;
  return targetId('Application', instance, target.split('/').pop() ?? '');
}
