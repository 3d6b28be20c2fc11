import { changeTargets } from '../config/resolve-target.js';
import {
  appliedRevisionKey,
  changeKey,
  OUTCOMES,
  targetRef,
  type ChangeContext,
  type ChangeTarget,
  type Outcome,
} from './change-context.js';
import type { FluxObjectRef } from './flux-sources.js';
import { fluxMetadata, fluxObjectName, type FluxEvent } from './payloads.js';
import { targetKey } from '../gitops/identity.js';

/** The Flux source kinds whose NewArtifact events start sequences (docs/flux/alert.yaml lists each). */
export const FLUX_SOURCE_KINDS = ['GitRepository', 'OCIRepository', 'Bucket', 'HelmChart'] as const;
const DEPLOYED_KINDS = ['Kustomization', 'HelmRelease'] as const;

/**
 * kustomize-controller change-set lines (`Deployment/default/podinfo configured`) or helm-controller
 * releases.
 */
const CHANGE_SET_LINE = /^\S+\/\S+ (configured|created|deleted)$/m;
const HELM_APPLY_REASONS = ['InstallSucceeded', 'UpgradeSucceeded'];

/**
 * Decides what a Flux event means: a new artifact of a source that an `onChange` target uses, a
 * controller event about a delivery the service follows (completion), an applied revision the
 * service did not ask for (change), a drift correction at a revision already applied, or noise
 * (the success events Flux repeats every interval).
 */
export async function decideFluxEvent(ctx: ChangeContext, event: FluxEvent): Promise<Outcome> {
  const kind = event.involvedObject.kind;
  if ((FLUX_SOURCE_KINDS as readonly string[]).includes(kind)) return decideSourceEvent(ctx, event);
  if ((DEPLOYED_KINDS as readonly string[]).includes(kind)) return decideControllerEvent(ctx, event);
  ctx.logger.debug('flux event ignored: not about a source, Kustomization or HelmRelease', {
    object: fluxObjectName(event),
  });
  return OUTCOMES.ignored;
}

async function decideSourceEvent(ctx: ChangeContext, event: FluxEvent): Promise<Outcome> {
  const source = objectRef(event);
  const log = ctx.logger.child({ tool: 'flux', source: fluxObjectName(event), reason: event.reason });
  const revision = fluxMetadata(event, 'revision');
  if (event.reason !== 'NewArtifact' || !revision) {
    log.debug('source event ignored: not a NewArtifact with a revision');
    return OUTCOMES.ignored;
  }
  let started = 0;
  let matched = 0;
  for (const t of fluxTargets(ctx)) {
    if (!(await ctx.sources.usesSource(targetRef(t), source))) continue;
    matched++;
    if (await ctx.startChange(t, { tool: 'flux', target: targetKey(t.target), revision })) started++;
  }
  if (matched === 0) log.info('new artifact, but no target with onChange uses this source', { revision });
  return started > 0 ? OUTCOMES.change : matched > 0 ? OUTCOMES.duplicate : OUTCOMES.ignored;
}

async function decideControllerEvent(ctx: ChangeContext, event: FluxEvent): Promise<Outcome> {
  const object = fluxObjectName(event);
  const log = ctx.logger.child({ tool: 'flux', target: object, reason: event.reason });
  const revision = fluxMetadata(event, 'revision');
  const mine = fluxTargets(ctx).filter((t) => targetKey(t.target) === object);
  const appliedKey = appliedRevisionKey(object);

  if (ctx.isFollowing('flux', object)) {
    log.info('event about a followed delivery; waking its follower');
    ctx.wakeFollower('flux', object);
    // The revision this delivery applies was asked for: remember it, so it never counts as a change.
    if (revision && event.severity === 'info') {
      await ctx.seen.markIfNew(appliedKey, revision);
      for (const t of mine) await ctx.seen.markIfNew(changeKey(t), revision);
    }
    return OUTCOMES.completion;
  }
  if (event.severity !== 'info' || !revision) {
    log.debug('controller event ignored: not a success with a revision', { severity: event.severity });
    return OUTCOMES.ignored;
  }
  const appliedBefore = !(await ctx.seen.markIfNew(appliedKey, revision));
  if (appliedBefore && (appliesChanges(event) || /drift/i.test(event.reason))) {
    log.info('drift correction at a revision already applied; no sequence started', { revision });
    ctx.metrics.drift.inc({ tool: 'flux' });
    return OUTCOMES.drift;
  }
  let started = 0;
  for (const t of mine) if (await ctx.startChange(t, { tool: 'flux', target: object, revision })) started++;
  return started > 0 ? OUTCOMES.change : mine.length > 0 ? OUTCOMES.duplicate : OUTCOMES.ignored;
}

function appliesChanges(event: FluxEvent): boolean {
  return CHANGE_SET_LINE.test(event.message) || HELM_APPLY_REASONS.includes(event.reason);
}

function fluxTargets(ctx: ChangeContext): ChangeTarget[] {
  return changeTargets(ctx.config).filter((t) => t.target.tool === 'flux');
}

function objectRef(event: FluxEvent): FluxObjectRef {
  const o = event.involvedObject;
  return { kind: o.kind, name: o.name, namespace: o.namespace ?? 'flux-system' };
}
