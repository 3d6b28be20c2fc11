import { INFO_NAMES } from '../../gitops/identity.js';
/**
 * The parts of an Argo CD `v1alpha1Application` the deployer reads (argo-cd
 * `pkg/apis/application/v1alpha1/types.go`).
 * Everything is optional because the API omits empty fields.
 */
export interface InfoEntry {
  name: string;
  value: string;
}

export interface SyncOperation {
  sync?: { revision?: string; prune?: boolean; syncOptions?: string[] };
  info?: InfoEntry[];
  initiatedBy?: { username?: string; automated?: boolean };
}

export interface ResourceResult {
  kind?: string;
  namespace?: string;
  name?: string;
  status?: string;
  message?: string;
}

export interface ResourceStatus {
  kind?: string;
  namespace?: string;
  name?: string;
  health?: { status?: string; message?: string };
}

export interface OperationState {
  operation?: SyncOperation;
  phase?: string;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
  syncResult?: { revision?: string; resources?: ResourceResult[] };
}

export interface Application {
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
  spec?: { project?: string; source?: { targetRevision?: string }; syncPolicy?: { automated?: unknown } };
  operation?: SyncOperation | null;
  status?: {
    sync?: { status?: string; revision?: string };
    health?: { status?: string; message?: string };
    operationState?: OperationState | null;
    reconciledAt?: string;
    resources?: ResourceStatus[];
    summary?: { images?: string[]; externalURLs?: string[] };
  };
}

export interface ApplicationList {
  items?: Application[] | null;
}

export const OPERATION_PHASES = {
  running: 'Running',
  terminating: 'Terminating',
  failed: 'Failed',
  error: 'Error',
  succeeded: 'Succeeded',
} as const;
export type OperationPhase = (typeof OPERATION_PHASES)[keyof typeof OPERATION_PHASES];

export const HEALTH = {
  healthy: 'Healthy',
  progressing: 'Progressing',
  degraded: 'Degraded',
  suspended: 'Suspended',
  missing: 'Missing',
  unknown: 'Unknown',
} as const;
export type HealthStatus = (typeof HEALTH)[keyof typeof HEALTH];

export function infoValue(infos: InfoEntry[] | undefined, name: string): string | undefined {
  return infos?.find((i) => i.name === name)?.value;
}

/** True when `op` carries our trigger id in its `info`. */
export function isOurOperation(op: SyncOperation | null | undefined, triggeredid: string): boolean {
  return infoValue(op?.info ?? undefined, INFO_NAMES.triggeredid) === triggeredid;
}

/** Who started an operation, for messages: the user name or "automated sync". */
export function initiatorOf(op: SyncOperation | null | undefined): string {
  if (op?.initiatedBy?.automated) return 'automated sync';
  return op?.initiatedBy?.username || 'an unknown initiator';
}
