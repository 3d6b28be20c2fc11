import type { ResourceRegistry, ResourceType } from './resource-types.js';

/** Discovery documents: `/api`, `/apis`, `/api/v1`, `/apis/<group>/<version>`. */
export function discoveryDocument(registry: ResourceRegistry, path: string): unknown | undefined {
  if (path === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
  if (path === '/apis') return apiGroupList(registry);
  if (path === '/api/v1') return resourceList(registry, '', 'v1');
  const m = /^\/apis\/([^/]+)\/([^/]+)$/.exec(path);
  if (m) return resourceList(registry, m[1]!, m[2]!);
  const g = /^\/apis\/([^/]+)$/.exec(path);
  if (g) return apiGroupList(registry).groups.find((x) => x.name === g[1]);
  return undefined;
}

function apiGroupList(registry: ResourceRegistry) {
  const groups = new Map<string, Set<string>>();
  for (const t of registry.types.filter((t) => t.group)) {
    const versions = groups.get(t.group) ?? new Set<string>();
    versions.add(t.version);
    groups.set(t.group, versions);
  }
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groups].map(([name, versions]) => {
      const list = [...versions].map((version) => ({ groupVersion: `${name}/${version}`, version }));
      return { name, versions: list, preferredVersion: list[0] };
    }),
  };
}

function resourceList(registry: ResourceRegistry, group: string, version: string) {
  const types = registry.types.filter((t) => t.group === group && t.version === version);
  if (types.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources: types.flatMap((t) => resourceEntries(t)),
  };
}

function resourceEntries(t: ResourceType) {
  const main = {
    name: t.plural,
    singularName: t.kind.toLowerCase(),
    namespaced: t.namespaced,
    kind: t.kind,
    verbs: t.verbs,
  };
  if (!t.statusSubresource) return [main];
  return [
    main,
    {
      name: `${t.plural}/status`,
      singularName: '',
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: ['get', 'patch', 'update'],
    },
  ];
}
