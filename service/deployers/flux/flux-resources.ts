import type { FluxResourceKind } from '../../gitops/identity.js';

export const ANNOTATIONS = {
  requestedAt: 'reconcile.fluxcd.io/requestedAt',
  forceAt: 'reconcile.fluxcd.io/forceAt',
  delivery: 'gitops.keptn.sh/delivery',
} as const;

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

/** The fields of Flux objects the deployer reads. */
export interface FluxObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    generation?: number;
    resourceVersion?: string;
    annotations?: Record<string, string>;
  };
  spec?: {
    suspend?: boolean;
    wait?: boolean;
    healthChecks?: unknown[];
    sourceRef?: { kind: string; name: string; namespace?: string };
    chart?: {
      spec?: {
        chart?: string;
        version?: string;
        sourceRef?: { kind: string; name: string; namespace?: string };
      };
    };
    chartRef?: { kind: string; name: string; namespace?: string };
  };
  status?: {
    observedGeneration?: number;
    lastHandledReconcileAt?: string;
    conditions?: Condition[];
    lastAppliedRevision?: string;
    lastAttemptedRevision?: string;
    history?: { chartName?: string; chartVersion?: string; status?: string }[];
    artifact?: { revision?: string };
    helmChart?: string;
  };
}

export function conditionOf(obj: FluxObject, type: string): Condition | undefined {
  return obj.status?.conditions?.find((c) => c.type === type);
}

/**
 * What is deployed: Kustomization lastAppliedRevision, HelmRelease history[0].chartVersion when deployed, a
 * source's artifact.
 */
export function appliedRevision(kind: FluxResourceKind, obj: FluxObject): string | undefined {
  if (kind === 'Kustomization') return obj.status?.lastAppliedRevision;
  if (kind === 'HelmRelease') {
    const latest = obj.status?.history?.[0];
    return latest?.status === 'deployed' ? latest.chartVersion : undefined;
  }
  return obj.status?.artifact?.revision;
}
