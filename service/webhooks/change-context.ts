import type { Logger } from '../../lib/index.js';
import type { GitopsConfig, ResolvedTarget, Scope } from '../config/gitops-config.js';
import type { ServiceMetrics } from '../metrics.js';
import type { FluxObjectRef, FluxSourceLookup } from './flux-sources.js';
import { seenKey, type SeenRevisionStore } from '../state/seen-revisions.js';
import type { ChangeDetails } from './sequence-trigger.js';
import { watchedObjectKey, type DeliveryTool } from '../gitops/identity.js';

/** What one notification turned out to be; logged, and returned for tests. */
export const OUTCOMES = {
  change: 'change',
  duplicate: 'duplicate',
  drift: 'drift',
  completion: 'completion',
  ignored: 'ignored',
} as const;
export type Outcome = (typeof OUTCOMES)[keyof typeof OUTCOMES];

/** An `onChange` rule with its fixed scope (resolve-target.ts `changeTargets`). */
export interface ChangeTarget {
  scope: Scope;
  target: ResolvedTarget;
}

/** What the per-tool decisions need from the handler. */
export interface ChangeContext {
  logger: Logger;
  metrics: ServiceMetrics;
  config: GitopsConfig;
  seen: SeenRevisionStore;
  sources: FluxSourceLookup;
  /**
   * `instance`: the Argo CD instance the notification came from (two may have an application of the same
   * name).
   */
  isFollowing(tool: DeliveryTool, target: string, instance?: string): boolean;
  wakeFollower(tool: DeliveryTool, target: string, instance?: string): void;
  /**
   * Starts the target's sequence unless (target, revision) was seen; true when started, false when seen;
   * throws when it could not be sent.
   */
  startChange(change: ChangeTarget, details: ChangeDetails): Promise<boolean>;
}

export function targetRef(t: ChangeTarget): FluxObjectRef {
  if (t.target.tool !== 'flux') throw new Error(`rule ${t.target.rule} is not a flux target`);
  return { kind: t.target.flux.kind, name: t.target.flux.name, namespace: t.target.flux.namespace };
}

/** The seen-revisions key of an onChange target: the object and the scope its sequence runs in. */
export function changeKey(t: ChangeTarget): string {
  const { project, stage, service } = t.scope;
  return seenKey(t.target.tool, watchedObjectKey(t.target), project, stage, service);
}

/** The seen-revisions key of the revision Flux last applied to an object (`<Kind>/<namespace>/<name>`). */
export function appliedRevisionKey(fluxObject: string): string {
  return seenKey('flux', 'applied', fluxObject);
}
