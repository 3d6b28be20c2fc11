import type { RequestInfo } from '../service/sandbox/kube/faults.js';

/** Kubernetes API requests, by what they are for. */
export interface KubeRequestSplit {
  /** Flux objects: Kustomizations, HelmReleases, sources (get, patch, list, watch). */
  flux: number;
  /** The service's own state: delivery ConfigMaps, Leases. */
  state: number;
  other: number;
  byVerb: Record<string, number>;
}

const FLUX_GROUP = /\.toolkit\.fluxcd\.io$/;

export function splitKubeRequests(log: readonly RequestInfo[]): KubeRequestSplit {
  const split: KubeRequestSplit = { flux: 0, state: 0, other: 0, byVerb: {} };
  for (const r of log) {
    if (FLUX_GROUP.test(r.group)) split.flux++;
    else if (r.resource === 'configmaps' || r.resource === 'leases') split.state++;
    else split.other++;
    const key = `${r.verb} ${r.resource}${r.subresource ? '/' + r.subresource : ''}`;
    split.byVerb[key] = (split.byVerb[key] ?? 0) + 1;
  }
  return split;
}
