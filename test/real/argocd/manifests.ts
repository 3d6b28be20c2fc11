import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { KubeApiError } from '../../../service/kube/kube-errors.js';
import type { KubeApi, ResourceRef } from '../../../service/kube/kube-api.js';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; resourceVersion?: string };
  [field: string]: unknown;
}

/** The kinds the Argo CD set-up applies; `namespaced: false` for cluster-scoped ones. */
const KINDS: Record<string, ResourceRef & { namespaced: boolean }> = {
  CustomResourceDefinition: { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', kind: 'CustomResourceDefinition', namespaced: false },
  Namespace: { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false },
  Node: { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false },
  ConfigMap: { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true },
  Secret: { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true },
  Application: { group: 'argoproj.io', version: 'v1alpha1', plural: 'applications', kind: 'Application', namespaced: true },
  AppProject: { group: 'argoproj.io', version: 'v1alpha1', plural: 'appprojects', kind: 'AppProject', namespaced: true },
};

export function refOf(kind: string): ResourceRef {
  const ref = KINDS[kind];
  if (!ref) throw new Error(`no resource known for kind ${kind}`);
  return ref;
}

/** Every document of a YAML file. */
export function readManifests(file: string): Manifest[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((m): m is Manifest => Boolean(m?.kind));
}

/**
 * Creates the object, or when it exists merges it into the existing one (metadata, data and spec
 * keys), as `kubectl apply` would for the fields these set-ups use. Cluster-scoped objects that
 * exist are left as they are.
 */
export async function apply(kube: KubeApi, manifest: Manifest, namespace?: string): Promise<void> {
  const ref = KINDS[manifest.kind];
  if (!ref) throw new Error(`cannot apply kind ${manifest.kind}`);
  const ns = ref.namespaced ? (manifest.metadata.namespace ?? namespace) : undefined;
  if (ref.namespaced && !ns) throw new Error(`${manifest.kind}/${manifest.metadata.name} needs a namespace`);
  const body = ref.namespaced ? { ...manifest, metadata: { ...manifest.metadata, namespace: ns } } : manifest;
  try {
    await kube.create(ref, ns, body);
  } catch (err) {
    if (!(err instanceof KubeApiError) || err.status !== 409) throw err;
    if (!ns) return; // cluster-scoped: a namespace or CRD that exists already is what we want
    const { apiVersion: _a, kind: _k, ...patch } = body;
    await kube.patchMerge(ref, ns, manifest.metadata.name, patch);
  }
}
