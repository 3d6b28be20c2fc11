import { changeTargets } from '../config/resolve-target.js';
import { OUTCOMES, type ChangeContext, type ChangeTarget, type Outcome } from './change-context.js';
import type { ArgoApplication, ArgoNotification } from './payloads.js';
import { sameRevision } from '../state/seen-revisions.js';
import { applicationTarget, INFO_NAMES } from '../gitops/identity.js';

/** Argo CD carries the caller's `infos` into the operation; ours name the Keptn context. */
const OUR_INFOS: readonly string[] = Object.values(INFO_NAMES);

/**
 * Decides what an Argo CD notification means: completion of a delivery the service follows, drift
 * (OutOfSync on the revision already deployed or seen), or a change (OutOfSync on a new revision)
 * that starts the `onChange` sequences of the application's targets.
 */
export async function decideArgoNotification(
  ctx: ChangeContext,
  notification: ArgoNotification,
): Promise<Outcome> {
  const app = notification.app;
  const target = applicationTarget(app);
  const log = ctx.logger.child({
    tool: 'argocd',
    target,
    trigger: notification.trigger,
    instance: notification.instance,
  });
  const sync = app.status?.sync;

  if (
    ctx.isFollowing('argocd', target, notification.instance) &&
    (startedByUs(app) || sync?.status !== 'OutOfSync')
  ) {
    log.info('notification about a followed delivery; waking its follower');
    ctx.wakeFollower('argocd', target, notification.instance);
    return OUTCOMES.completion;
  }
  if (sync?.status !== 'OutOfSync') {
    log.debug('notification ignored: not OutOfSync and no delivery followed', { syncStatus: sync?.status });
    return OUTCOMES.ignored;
  }
  const revision = sync.revision ?? sync.revisions?.join(',');
  if (!revision) {
    log.warn('OutOfSync notification without status.sync.revision; ignored');
    return OUTCOMES.ignored;
  }
  if (sameRevision(revision, deployedRevision(app)))
    return drift(ctx, log, revision, 'the revision already deployed');

  const targets = matchingTargets(ctx, notification);
  if (targets.length === 0) {
    log.info('OutOfSync on a new revision, but no target with onChange maps this application', { revision });
    return OUTCOMES.ignored;
  }
  let started = 0;
  for (const t of targets) if (await ctx.startChange(t, { tool: 'argocd', target, revision })) started++;
  return started > 0 ? OUTCOMES.change : drift(ctx, log, revision, 'a revision already seen');
}

function drift(ctx: ChangeContext, log: ChangeContext['logger'], revision: string, why: string): Outcome {
  log.info(`drift: OutOfSync on ${why}; no sequence started`, { revision });
  ctx.metrics.drift.inc({ tool: 'argocd' });
  return OUTCOMES.drift;
}

function startedByUs(app: ArgoApplication): boolean {
  const info = app.operation?.info ?? app.status?.operationState?.operation?.info ?? [];
  return info.some((i) => OUR_INFOS.includes(i.name) && i.value !== '');
}

function deployedRevision(app: ArgoApplication): string | undefined {
  const result = app.status?.operationState?.syncResult;
  const fromResult = result?.revision ?? result?.revisions?.join(',');
  if (fromResult) return fromResult;
  const history = app.status?.history ?? [];
  return history[history.length - 1]?.revision;
}

/** onChange rules for this application on this instance (and in this namespace, when the rule names one). */
function matchingTargets(ctx: ChangeContext, notification: ArgoNotification): ChangeTarget[] {
  const { name, namespace } = notification.app.metadata;
  return changeTargets(ctx.config).filter(({ target }) => {
    if (target.tool !== 'argocd') return false;
    const spec = target.argocd;
    if (spec.application !== name || spec.instance !== notification.instance) return false;
    return spec.appNamespace === undefined || spec.appNamespace === namespace;
  });
}
