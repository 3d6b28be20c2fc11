import type { KubeApiSimulator } from '../kube/kube-api-simulator.js';
import { kubeTimestamp, type KubeObject } from '../kube/object-store.js';

export interface SourceRef {
  kind: 'GitRepository' | 'OCIRepository' | 'Bucket';
  name: string;
  namespace?: string;
}

export interface SeedKustomization {
  name: string;
  namespace?: string;
  wait?: boolean;
  healthChecks?: { kind: string; name: string; namespace?: string; apiVersion?: string }[];
  sourceRef?: SourceRef;
  suspend?: boolean;
  /** Initial applied revision written to status (default: none, a fresh object). */
  appliedRevision?: string;
}

export interface SeedHelmRelease {
  name: string;
  namespace?: string;
  chart?: string;
  version?: string;
  /** Where the chart comes from (a HelmRepository by default). */
  sourceRef?: { kind: 'HelmRepository' | 'GitRepository' | 'Bucket'; name: string; namespace?: string };
  chartRef?: { kind: 'OCIRepository' | 'HelmChart'; name: string; namespace?: string };
  suspend?: boolean;
}

export interface SeedGitRepository {
  name: string;
  namespace?: string;
  url?: string;
  branch?: string;
  /** The artifact revision in status, e.g. `main@sha1:<40 hex>`. */
  revision?: string;
}

export const DEFAULT_GIT_REVISION = 'main@sha1:696f056df216eea4f9401adbee0ff744d4df390f';

/** A Kustomization like the fixture `flux-kustomization-with-status.json`, valid against its CRD. */
export function seedKustomization(sim: KubeApiSimulator, options: SeedKustomization): KubeObject {
  const namespace = options.namespace ?? 'flux-system';
  const spec: Record<string, unknown> = {
    interval: '5m',
    path: './deploy',
    prune: true,
    sourceRef: options.sourceRef ?? { kind: 'GitRepository', name: options.name },
  };
  if (options.wait !== undefined) spec.wait = options.wait;
  if (options.healthChecks)
    spec.healthChecks = options.healthChecks.map((h) => ({ apiVersion: 'apps/v1', ...h }));
  if (options.suspend) spec.suspend = true;
  const created = sim.create('Kustomization', { metadata: { name: options.name, namespace }, spec });
  if (!options.appliedRevision) return created;
  return sim.update(
    'Kustomization',
    { ...created, status: readyKustomizationStatus(options.appliedRevision, 1) },
    'status',
  );
}

export function seedHelmRelease(sim: KubeApiSimulator, options: SeedHelmRelease): KubeObject {
  const namespace = options.namespace ?? 'default';
  const spec: Record<string, unknown> = { interval: '5m' };
  if (options.chartRef) spec.chartRef = options.chartRef;
  else {
    spec.chart = {
      spec: {
        chart: options.chart ?? options.name,
        version: options.version ?? '6.3.5',
        sourceRef: options.sourceRef ?? {
          kind: 'HelmRepository',
          name: options.name,
          namespace: 'flux-system',
        },
      },
    };
  }
  if (options.suspend) spec.suspend = true;
  return sim.create('HelmRelease', { metadata: { name: options.name, namespace }, spec });
}

export function seedGitRepository(sim: KubeApiSimulator, options: SeedGitRepository): KubeObject {
  const namespace = options.namespace ?? 'flux-system';
  const created = sim.create('GitRepository', {
    metadata: { name: options.name, namespace },
    spec: {
      interval: '1m',
      url: options.url ?? `https://github.com/example/${options.name}`,
      ref: { branch: options.branch ?? 'main' },
    },
  });
  return sim.update(
    'GitRepository',
    {
      ...created,
      status: readySourceStatus(namespace, options.name, options.revision ?? DEFAULT_GIT_REVISION, 1),
    },
    'status',
  );
}

/**
 * The usual Flux target of the tests and the demo: GitRepository `source` and a Kustomization `name` that
 * applies it with `spec.wait`, both in flux-system.
 */
export function seedWaitingKustomization(sim: KubeApiSimulator, name: string, source = name): KubeObject {
  seedGitRepository(sim, { name: source, namespace: 'flux-system' });
  return seedKustomization(sim, {
    name,
    namespace: 'flux-system',
    wait: true,
    sourceRef: { kind: 'GitRepository', name: source },
  });
}

/** A HelmChart `<ns>-<name>` as helm-controller creates for a HelmRelease with `spec.chart`. */
export function seedHelmChart(
  sim: KubeApiSimulator,
  options: { name: string; namespace?: string; chart: string; version: string; sourceName?: string },
): KubeObject {
  const namespace = options.namespace ?? 'flux-system';
  const created = sim.create('HelmChart', {
    metadata: { name: options.name, namespace },
    spec: {
      chart: options.chart,
      version: options.version,
      interval: '1m',
      sourceRef: { kind: 'HelmRepository', name: options.sourceName ?? options.chart },
    },
  });
  return sim.update(
    'HelmChart',
    { ...created, status: readySourceStatus(namespace, options.name, options.version, 1) },
    'status',
  );
}

export function condition(
  type: string,
  status: 'True' | 'False' | 'Unknown',
  reason: string,
  message: string,
  observedGeneration?: number,
) {
  const c: Record<string, unknown> = { type, status, reason, message, lastTransitionTime: kubeTimestamp() };
  if (observedGeneration !== undefined) c.observedGeneration = observedGeneration;
  return c;
}

function readyKustomizationStatus(revision: string, generation: number): Record<string, unknown> {
  return {
    observedGeneration: generation,
    lastAppliedRevision: revision,
    lastAttemptedRevision: revision,
    conditions: [
      condition('Ready', 'True', 'ReconciliationSucceeded', `Applied revision: ${revision}`, generation),
    ],
  };
}

function readySourceStatus(
  namespace: string,
  name: string,
  revision: string,
  generation: number,
): Record<string, unknown> {
  return {
    observedGeneration: generation,
    artifact: {
      digest: 'sha256:e750c7a46724acaef8f8aa926259af30bbd9face2ae065ae8896ba5ee5ab832b',
      lastUpdateTime: kubeTimestamp(),
      path: `source/${namespace}/${name}/artifact.tar.gz`,
      revision,
      url: `http://source-controller.flux-system.svc.cluster.local./source/${namespace}/${name}/artifact.tar.gz`,
    },
    conditions: [
      condition('Ready', 'True', 'Succeeded', `stored artifact for revision '${revision}'`, generation),
    ],
  };
}
