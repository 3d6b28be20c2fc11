import { revisionMatches } from '../../gitops/revision.js';
import type { Verdict } from '../deployer.js';
import { appliedRevision, conditionOf, type FluxObject } from './flux-resources.js';
import { compareTokens } from './reconcile-token.js';
import type { FluxResourceKind } from '../../gitops/identity.js';

/** Flux's verdict: the Ready message while waiting, the message of the outcome. */
export type FluxVerdict = Verdict<{ readyMessage?: string }, { message: string }>;

export interface FollowContext {
  kind: FluxResourceKind;
  /** `Kind/ns/name`. */
  target: string;
  token: string;
  /** lastHandledReconcileAt before our patch (unknown when resuming). */
  previousHandled?: string;
  requestedRevision?: string;
}

/**
 * Decides a followed reconcile from one state of the object (the README's outcome table,
 * fluxcd/pkg `runtime/conditions`): waiting until our token (or a later one) was handled, then pass on
 * Ready=True at the current generation with the requested revision, fail at once on Stalled,
 * Ready=False or a revision mismatch, and keep waiting while a later reconcile runs.
 */
export function judge(obj: FluxObject, ctx: FollowContext): FluxVerdict {
  const ready = conditionOf(obj, 'Ready');
  const waiting: FluxVerdict = { state: 'waiting', readyMessage: ready?.message };
  if (!handled(obj.status?.lastHandledReconcileAt, ctx)) return waiting;
  const stalled = conditionOf(obj, 'Stalled');
  if (stalled?.status === 'True') {
    return {
      state: 'done',
      result: 'fail',
      message:
        `${ctx.target} is stalled (${stalled.reason ?? 'Stalled'}): ${stalled.message ?? ready?.message ?? ''}`.trim(),
    };
  }
  if (ready?.status === 'False') {
    return {
      state: 'done',
      result: 'fail',
      message:
        `${ctx.target} reconciliation failed (${ready.reason ?? 'Failed'}): ${ready.message ?? ''}`.trim(),
      revision: obj.status?.lastAttemptedRevision,
    };
  }
  if (ready?.status !== 'True') return waiting;
  if (conditionOf(obj, 'Reconciling')?.status === 'True') return waiting;
  if (obj.status?.observedGeneration !== obj.metadata.generation) return waiting;
  const revision = appliedRevision(ctx.kind, obj);
  if (ctx.requestedRevision && !revisionMatches(ctx.requestedRevision, revision)) {
    return {
      state: 'done',
      result: 'fail',
      message: `${ctx.target} applied revision ${revision ?? '(none)'}, not the requested revision ${ctx.requestedRevision}`,
      revision,
    };
  }
  return { state: 'done', result: 'pass', message: successMessage(obj, ctx, revision), revision };
}

function handled(lastHandled: string | undefined, ctx: FollowContext): boolean {
  if (lastHandled === undefined || lastHandled === '') return false;
  if (lastHandled === ctx.token) return true;
  if (lastHandled === ctx.previousHandled) return false;
  const order = compareTokens(lastHandled, ctx.token);
  // A token we cannot order counts as later only when we know it changed since our patch.
  return order === 1 || (order === undefined && ctx.previousHandled !== undefined);
}

function successMessage(obj: FluxObject, ctx: FollowContext, revision: string | undefined): string {
  switch (ctx.kind) {
    case 'Kustomization': {
      const checked = obj.spec?.wait === true || (obj.spec?.healthChecks?.length ?? 0) > 0;
      const base = `${ctx.target} applied revision ${revision ?? '(unknown)'}`;
      return checked
        ? `${base}; health checks passed`
        : `${base} (applied only, not health-checked: the Kustomization sets neither spec.wait nor spec.healthChecks)`;
    }
    case 'HelmRelease': {
      const chart = obj.status?.history?.[0]?.chartName;
      return `${ctx.target} deployed chart ${chart ? `${chart}@` : ''}${revision ?? '(unknown)'}`;
    }
    default:
      return `${ctx.target} stored artifact for revision ${revision ?? '(unknown)'}`;
  }
}
