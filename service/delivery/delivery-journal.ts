import type { ResolvedTarget } from '../config/gitops-config.js';
import type { DeliveryRecord } from '../deployers/deployer.js';

/**
 * A delivery as the journal keeps it: the record the `.finished` is built from, the resolved
 * target it was started with, and the replica following it.
 */
export interface JournalEntry extends DeliveryRecord {
  /** `<Kind>/<namespace>/<name>` for Flux; `Application/<appNamespace or ->/<name>` for Argo CD. */
  target: string;
  tool: 'argocd' | 'flux';
  owner?: string;
  resolved?: ResolvedTarget;
}

/**
 * Where running deliveries are recorded so another instance can finish them after a crash (the
 * ConfigMap store in a cluster, memory without one). Saved before the tool is triggered, removed
 * once the `.finished` is flushed.
 */
export interface DeliveryJournal {
  save(entry: JournalEntry): Promise<void>;
  /** Saves a record only if the trigger has none yet: false when it has (a redelivered trigger). */
  add?(entry: JournalEntry): Promise<boolean>;
  remove(triggeredid: string): Promise<void>;
  /**
   * The replica the record of `triggeredid` names now (`undefined`: none), or `null` when there is
   * no record. Only journals shared by replicas have it.
   */
  ownerOf?(triggeredid: string): Promise<string | undefined | null>;
}

export function journalTarget(target: ResolvedTarget): string {
  return target.tool === 'flux'
    ? `${target.flux.kind}/${target.flux.namespace}/${target.flux.name}`
    : `Application/${target.argocd.appNamespace ?? '-'}/${target.argocd.application}`;
}
