import { revisionMatches } from '../../gitops/revision.js';
import type { Verdict } from '../deployer.js';
import { HEALTH, OPERATION_PHASES, isOurOperation, type Application } from './application.js';

/** Argo CD's verdict: the application it was judged on, and why it failed. */
export type ArgoVerdict = Verdict<object, { app: Application; reason?: string }>;

/**
 * The operation is over as the argocd CLI decides it (`checkAppWaitConditions`): no pending
 * operation, `finishedAt` set, and the status re-compared since (`reconciledAt >= finishedAt`).
 * With `triggeredid`, the finished operation must also be ours (its `info` carries the id).
 */
export function operationFinished(app: Application, triggeredid?: string): boolean {
  if (app.operation) return false;
  const state = app.status?.operationState;
  if (!state?.finishedAt) return false;
  const reconciled = app.status?.reconciledAt;
  if (!reconciled || Date.parse(reconciled) < Date.parse(state.finishedAt)) return false;
  return triggeredid === undefined || isOurOperation(state.operation, triggeredid);
}

/** Judges a finished operation: phase, synced revision, then health (Progressing/Missing wait). */
export function judgeFinished(app: Application, requestedRevision: string | undefined): ArgoVerdict {
  const state = app.status?.operationState ?? undefined;
  const revision = state?.syncResult?.revision;
  const phase = state?.phase;
  if (phase === OPERATION_PHASES.failed || phase === OPERATION_PHASES.error) {
    return {
      state: 'done',
      result: 'fail',
      app,
      revision,
      reason: `sync ${phase}: ${[state?.message, ...failedResources(app)].filter(Boolean).join('; ')}`,
    };
  }
  if (phase !== OPERATION_PHASES.succeeded) return { state: 'waiting' };
  if (requestedRevision && !revisionMatches(requestedRevision, revision)) {
    return {
      state: 'done',
      result: 'fail',
      app,
      revision,
      reason: `synced revision ${revision ?? '(none)'} but ${requestedRevision} was requested`,
    };
  }
  const health = app.status?.health;
  if (health?.status === HEALTH.healthy) return { state: 'done', result: 'pass', app, revision };
  if (health?.status === HEALTH.degraded) {
    const details = [health.message, ...degradedResources(app)].filter(Boolean).join('; ');
    return {
      state: 'done',
      result: 'fail',
      app,
      revision,
      reason: `health Degraded${details ? `: ${details}` : ''}`,
    };
  }
  return { state: 'waiting' };
}

/** Messages of `syncResult.resources[]` whose status is `SyncFailed`. */
export function failedResources(app: Application): string[] {
  return (app.status?.operationState?.syncResult?.resources ?? [])
    .filter((r) => r.status === 'SyncFailed')
    .map((r) => `${r.kind}/${r.name}: ${r.message ?? 'SyncFailed'}`);
}

/** Messages of `status.resources[]` whose health is `Degraded`. */
export function degradedResources(app: Application): string[] {
  return (app.status?.resources ?? [])
    .filter((r) => r.health?.status === HEALTH.degraded)
    .map((r) => `${r.kind}/${r.name}: ${r.health?.message ?? 'Degraded'}`);
}

/** Messages of `status.resources[]` whose health is known and not Healthy. */
function unhealthyResources(app: Application): string[] {
  return (app.status?.resources ?? [])
    .filter((r) => r.health?.status && r.health.status !== HEALTH.healthy)
    .map((r) => `${r.kind}/${r.name}: ${r.health?.message ?? r.health?.status}`);
}

/** Where an application stood, for timeout messages: operation phase, sync status, health. */
export function whereItStood(app: Application | undefined): string {
  if (!app) return 'the application was never read';
  const state = app.status?.operationState;
  const phase = app.operation && !state ? 'requested, not yet started' : (state?.phase ?? 'none');
  const health = app.status?.health;
  // Argo CD 3 leaves the application's health message empty; its resources say why (Waiting for rollout ...).
  const why = health?.message ? [health.message] : unhealthyResources(app);
  const healthText = `${health?.status ?? 'Unknown'}${why.length ? ` (${why.join('; ')})` : ''}`;
  return `operation ${phase}${state?.message ? ` (${state.message})` : ''}, sync ${app.status?.sync?.status ?? 'Unknown'}, health ${healthText}`;
}
