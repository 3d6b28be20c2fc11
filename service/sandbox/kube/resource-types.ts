import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { packageRoot } from '../../util/package-root.js';

/** One kind of object the simulated API serves. */
export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  /** Has the `/status` subresource: main writes ignore status, status writes ignore the rest. */
  statusSubresource: boolean;
  /** Verbs advertised in discovery. */
  verbs: string[];
  /** openAPIV3Schema of a CRD, when the kind comes from one. */
  schema?: Record<string, unknown>;
}

const ALL_VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

const BUILTIN: ResourceType[] = [
  {
    group: '',
    version: 'v1',
    kind: 'ConfigMap',
    plural: 'configmaps',
    namespaced: true,
    statusSubresource: false,
    verbs: ALL_VERBS,
  },
  {
    group: 'coordination.k8s.io',
    version: 'v1',
    kind: 'Lease',
    plural: 'leases',
    namespaced: true,
    statusSubresource: false,
    verbs: ALL_VERBS,
  },
  {
    group: 'authorization.k8s.io',
    version: 'v1',
    kind: 'SelfSubjectAccessReview',
    plural: 'selfsubjectaccessreviews',
    namespaced: false,
    statusSubresource: false,
    verbs: ['create'],
  },
];

const crdCache = new Map<string, ResourceType[]>();

interface CrdDocument {
  kind?: string;
  spec?: {
    group: string;
    names: { kind: string; plural: string };
    scope: string;
    versions: {
      name: string;
      served: boolean;
      subresources?: { status?: unknown };
      schema?: { openAPIV3Schema?: Record<string, unknown> };
    }[];
  };
}

/** The CRDs under `service/sandbox/crds/` as resource types (every served version). */
export function loadCrdTypes(dir = join(packageRoot(), 'service', 'sandbox', 'crds')): ResourceType[] {
  // Parsed once per directory: the Argo CD CRD alone is 400 KB of YAML.
  const cached = crdCache.get(dir);
  if (cached) return cached;
  const types: ResourceType[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    const doc = parse(readFileSync(join(dir, file), 'utf8')) as CrdDocument;
    if (doc.kind !== 'CustomResourceDefinition' || !doc.spec) continue;
    for (const v of doc.spec.versions.filter((v) => v.served)) {
      types.push({
        group: doc.spec.group,
        version: v.name,
        kind: doc.spec.names.kind,
        plural: doc.spec.names.plural,
        namespaced: doc.spec.scope === 'Namespaced',
        statusSubresource: v.subresources?.status !== undefined,
        verbs: ALL_VERBS,
        schema: v.schema?.openAPIV3Schema,
      });
    }
  }
  crdCache.set(dir, types);
  return types;
}

/** `group/version`, or just `version` for the core group. */
export function apiVersionOf(type: ResourceType): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

/** `obj` with the apiVersion and kind of `type`, as the API server sees it when validating. */
export function stamped<T extends object>(
  obj: T,
  type: ResourceType,
): T & { apiVersion: string; kind: string } {
  return { ...obj, apiVersion: apiVersionOf(type), kind: type.kind };
}

/** Lookup of resource types by group/version/plural and by kind. */
export class ResourceRegistry {
  readonly types: ResourceType[];

  constructor(types: ResourceType[] = [...BUILTIN, ...loadCrdTypes()]) {
    this.types = types;
  }

  find(group: string, version: string, plural: string): ResourceType | undefined {
    return this.types.find((t) => t.group === group && t.version === version && t.plural === plural);
  }

  byKind(kind: string): ResourceType | undefined {
    return this.types.find((t) => t.kind === kind);
  }
}
