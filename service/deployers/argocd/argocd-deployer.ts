import type { ArgoInstance, ResolvedArgoTarget } from '../../config/gitops-config.js';
import type { ServiceMetrics } from '../../metrics.js';
import { type Logger, type BackoffOptions } from '../../../lib/index.js';
import type { DeliveryRecord } from '../../state/delivery-record.js';
import {
  DeployError,
  type Deployer,
  type DeployRequest,
  type DeployResult,
  type Recovery,
} from '../deployer.js';
import { revisionMatches } from '../../gitops/revision.js';
import { OPERATION_PHASES, initiatorOf, isOurOperation } from './application.js';
import { ArgoCdClient, type AppScope } from './argocd-client.js';
import { ApplicationFollower, FollowTimeoutError } from './application-follower.js';
import { judgeFinished, operationFinished, whereItStood, type ArgoVerdict } from './completion.js';
import { KeyedQueue } from '../../util/keyed-queue.js';
import { SYNC_REFUSALS, nothingToTerminate, syncRefusal, toDeployError } from './refusals.js';
import { ArgoApiError } from './errors.js';
import { INFO_NAMES, applicationTarget } from '../../gitops/identity.js';

export interface ArgoCdDeployerOptions {
  /** The configured instances, asked again for every delivery: a reloaded targets file applies. */
  instances: () => Map<string, ArgoInstance>;
  logger: Logger;
  metrics?: ServiceMetrics;
  /** Epoch ms now; default Date.now. */
  clock?: () => number;
  retry?: BackoffOptions;
  /** GET interval when the watch stream cannot be opened; default 5 s. */
  pollIntervalMs?: number;
}

/** How many times `terminate` may end someone else's operation before giving up. */
const MAX_TERMINATIONS = 3;

/** One delivery's sync in progress: everything its steps share. */
interface SyncRun {
  request: DeployRequest<ResolvedArgoTarget>;
  client: ArgoCdClient;
  follower: ApplicationFollower;
  name: string;
  scope: AppScope;
  logger: Logger;
  /** Aborts when the request is cancelled or the deployer closes. */
  signal: AbortSignal;
}

/**
 * Deploys through Argo CD (the Argo CD REST API): `POST .../sync` with the Keptn ids in `infos`,
 * then follows the application's watch stream until the operation is over as the argocd CLI decides
 * it, and judges phase, revision and health. Deliveries to one application run one at a time.
 */
export class ArgoCdDeployer implements Deployer<ResolvedArgoTarget> {
  private readonly options: ArgoCdDeployerOptions;
  private readonly clients = new Map<string, { instance: ArgoInstance; client: ArgoCdClient }>();
  private readonly queue = new KeyedQueue();
  private readonly followers = new Set<SyncRun>();
  private readonly closing = new AbortController();
  private readonly clock: () => number;

  constructor(options: ArgoCdDeployerOptions) {
    this.options = options;
    this.clock = options.clock ?? Date.now;
  }

  /** The client of an instance (shared by deliveries; `keptn-gitops check` may use it too). */
  client(instanceName: string): ArgoCdClient {
    const instance = this.options.instances().get(instanceName);
    if (!instance)
      throw new DeployError(
        'invalid',
        `no Argo CD instance named '${instanceName}' is configured`,
        `ArgoCdInstance/${instanceName}`,
      );
    const cached = this.clients.get(instanceName);
    if (cached && sameInstance(cached.instance, instance)) return cached.client;
    // A changed instance gets a new client; deliveries still running keep the one they started with.
    const { logger, metrics, retry } = this.options;
    const client = new ArgoCdClient({ instance, logger, metrics, retry, clock: this.clock });
    this.clients.set(instanceName, { instance, client });
    return client;
  }

  deploy(request: DeployRequest<ResolvedArgoTarget>): Promise<DeployResult> {
    return this.serialised(request, (delivery) => this.syncAndFollow(delivery));
  }

  resume(request: DeployRequest<ResolvedArgoTarget>): Promise<DeployResult> {
    return this.serialised(request, async (delivery) => {
      // Ours is pending or ran already: follow it without syncing again.
      if (await this.hasOurOperation(delivery)) {
        delivery.logger.info('resuming the Argo CD operation of an earlier instance');
        return this.followOurs(delivery);
      }
      delivery.logger.info('no Argo CD operation of this delivery found, syncing');
      return this.syncAndFollow(delivery);
    });
  }

  /**
   * Re-reads the application now (an Argo CD notification about `Application/<ns>/<name>` of `instance`
   * arrived).
   */
  async nudge(target: string, instance?: string): Promise<void> {
    const [, namespace, name] = target.split('/');
    const reads: Promise<unknown>[] = [];
    for (const delivery of this.followers) {
      if (delivery.name !== name) continue;
      if (instance && delivery.request.target.argocd.instance !== instance) continue;
      const ns = delivery.scope.appNamespace ?? delivery.follower.latest?.metadata.namespace;
      if (ns && namespace && ns !== namespace) continue;
      reads.push(
        delivery.follower
          .refresh()
          .catch((err) => delivery.logger.debug('nudge read failed', { error: String(err) })),
      );
    }
    await Promise.all(reads);
  }

  /** Argo CD keeps nothing of ours to drop: our ids are in the operation's `info`. */
  async settle(): Promise<void> {}

  /** Always resumes: `resume` itself looks for our operation and syncs when there is none. */
  async recover(_target: ResolvedArgoTarget, delivery: DeliveryRecord): Promise<Recovery> {
    return { mode: 'resume', delivery };
  }

  /** Stops following; running deliveries reject. */
  async close(): Promise<void> {
    this.closing.abort(new Error('Argo CD deployer closed'));
    for (const { client } of this.clients.values()) void client.close();
  }

  private async serialised(
    request: DeployRequest<ResolvedArgoTarget>,
    work: (delivery: SyncRun) => Promise<DeployResult>,
  ): Promise<DeployResult> {
    const spec = request.target.argocd;
    const key = `${spec.instance}/${spec.appNamespace ?? ''}/${spec.application}`;
    return this.queue.run(key, async () => {
      const delivery = this.open(request);
      this.followers.add(delivery);
      try {
        return await work(delivery);
      } catch (err) {
        throw this.explain(err, delivery);
      } finally {
        this.followers.delete(delivery);
        delivery.follower.close();
      }
    });
  }

  private open(request: DeployRequest<ResolvedArgoTarget>): SyncRun {
    const spec = request.target.argocd;
    const client = this.client(spec.instance);
    const scope: AppScope = { appNamespace: spec.appNamespace, project: spec.project };
    const logger = this.options.logger.child({
      shkeptncontext: request.delivery.shkeptncontext,
      triggeredid: request.delivery.triggeredid,
      application: spec.application,
      argocdInstance: spec.instance,
    });
    const signal = AbortSignal.any([request.signal, this.closing.signal]);
    const follower = new ApplicationFollower({
      client,
      name: spec.application,
      scope,
      signal,
      deadline: request.delivery.deadline,
      pollIntervalMs: this.options.pollIntervalMs ?? 5000,
      retry: client.retry,
      logger,
      metrics: this.options.metrics,
      clock: this.clock,
    });
    return { request, client, follower, name: spec.application, scope, logger, signal };
  }

  /** Sync (handling an operation already running), then follow ours to its verdict. */
  private async syncAndFollow(delivery: SyncRun): Promise<DeployResult> {
    const { target } = delivery.request;
    delivery.follower.start();
    let terminations = 0;
    for (;;) {
      try {
        await this.postSync(delivery);
        return await this.followOurs(delivery);
      } catch (err) {
        if (syncRefusal(err) !== SYNC_REFUSALS.operationInProgress) throw err;
      }
      const running = await delivery.follower.refresh();
      if (isOurOperation(running.operation, delivery.request.delivery.triggeredid)) {
        // Our sync was applied but its answer was lost (a retried 5xx or reset): follow it, never end it.
        delivery.logger.info(
          'the running Argo CD operation is ours (its info carries this trigger id): following it',
        );
        return this.followOurs(delivery);
      }
      // Another operation (auto-sync, a user) runs: act as the target says.
      const initiator = initiatorOf(running.operation);
      const mode = target.argocd.onRunningOperation;
      if (mode === 'fail') {
        throw new DeployError(
          'refused',
          `${this.where(delivery)}: another operation is already in progress, started by ${initiator} (onRunningOperation: fail)`,
          this.target(delivery),
        );
      }
      if (mode === 'terminate') {
        // Argo CD terminates only an operation its controller picked up (status.operationState set):
        // one requested a moment ago is refused with "No operation is in progress", so wait for that.
        const picked = await delivery.follower.until((app) =>
          !app.operation || app.status?.operationState ? app : undefined,
        );
        if (!picked.operation) continue;
        if (++terminations > MAX_TERMINATIONS) {
          throw new DeployError(
            'refused',
            `${this.where(delivery)}: operations keep starting (last by ${initiator}) after ${terminations - 1} terminations`,
            this.target(delivery),
          );
        }
        delivery.logger.info('terminating the running Argo CD operation', { initiator });
        try {
          await delivery.client.terminateOperation(delivery.name, delivery.scope, this.callOptions(delivery));
        } catch (err) {
          if (!nothingToTerminate(err)) throw err;
          delivery.logger.info('the running Argo CD operation ended before it could be terminated');
          continue;
        }
        await delivery.follower.until((app) => (app.operation ? undefined : app));
        continue;
      }
      delivery.logger.info('waiting for the running Argo CD operation to end', { initiator });
      const adopted = await this.awaitRunning(delivery);
      if (adopted) return adopted;
    }
  }

  /** Follows someone else's operation; returns its result when it deployed what we want, else undefined. */
  private async awaitRunning(delivery: SyncRun): Promise<DeployResult | undefined> {
    const ended = await delivery.follower.until((app) => (operationFinished(app) ? app : undefined));
    const requested = delivery.request.delivery.requestedRevision;
    const state = ended.status?.operationState;
    const deployedWanted =
      state?.phase === OPERATION_PHASES.succeeded &&
      (!requested || revisionMatches(requested, state.syncResult?.revision));
    if (!deployedWanted) {
      delivery.logger.info('the running operation did not deploy the requested revision, syncing ours', {
        phase: state?.phase,
        revision: state?.syncResult?.revision,
      });
      return undefined;
    }
    delivery.logger.info('the running operation deployed the requested revision, following it', {
      revision: state?.syncResult?.revision,
    });
    const verdict = await delivery.follower.until((app) =>
      decided(operationFinished(app) ? judgeFinished(app, requested) : { state: 'waiting' }),
    );
    return this.result(delivery, verdict);
  }

  /**
   * Requests our sync. A failure whose answer may have been lost (5xx, reset, timeout) is retried
   * only while no operation of this trigger is on the application: one that is was applied, and is
   * followed rather than synced a second time.
   */
  private async postSync(delivery: SyncRun): Promise<void> {
    const { delivery: record, target } = delivery.request;
    const applied = () => this.hasOurOperation(delivery).catch(() => false);
    try {
      await delivery.client.sync(
        delivery.name,
        {
          ...delivery.scope,
          revision: record.requestedRevision,
          prune: target.argocd.prune,
          syncOptions: target.argocd.syncOptions,
          infos: infosOf(record),
        },
        { ...this.callOptions(delivery), retryIf: async () => !(await applied()) },
      );
    } catch (err) {
      if (!(err instanceof ArgoApiError && err.retryReason && (await applied()))) throw err;
      delivery.logger.info('our Argo CD sync was applied although its answer was lost: following it', {
        error: err.message,
      });
      return;
    }
    delivery.logger.info('Argo CD sync requested', { revision: record.requestedRevision });
  }

  /** Whether the application runs, or last ran, an operation whose info carries this trigger's id. */
  private async hasOurOperation(delivery: SyncRun): Promise<boolean> {
    const app = await delivery.follower.refresh();
    const { triggeredid } = delivery.request.delivery;
    return (
      isOurOperation(app.operation, triggeredid) ||
      isOurOperation(app.status?.operationState?.operation, triggeredid)
    );
  }

  private async followOurs(delivery: SyncRun): Promise<DeployResult> {
    const { triggeredid, requestedRevision } = delivery.request.delivery;
    const verdict = await delivery.follower.until((app) =>
      decided(
        operationFinished(app, triggeredid) ? judgeFinished(app, requestedRevision) : { state: 'waiting' },
      ),
    );
    return this.result(delivery, verdict);
  }

  private result(delivery: SyncRun, verdict: Exclude<ArgoVerdict, { state: 'waiting' }>): DeployResult {
    const { app } = verdict;
    const instance = delivery.request.target.argocd.instance;
    const where = `Application ${app.metadata.namespace ?? 'argocd'}/${app.metadata.name}`;
    const message =
      verdict.result === 'pass'
        ? `${where} synced to ${verdict.revision ?? 'its target revision'} on Argo CD instance '${instance}' and Healthy`
        : `${where} on Argo CD instance '${instance}' failed: ${verdict.reason}`;
    const state = app.status?.operationState;
    return {
      result: verdict.result,
      message,
      target: applicationTarget(app),
      tool: 'argocd',
      instance,
      revision: verdict.revision,
      images: app.status?.summary?.images ?? [],
      externalURLs: app.status?.summary?.externalURLs ?? [],
      startedAt: state?.startedAt ?? delivery.request.delivery.startedAt,
      finishedAt: new Date(this.clock()).toISOString(),
    };
  }

  private explain(err: unknown, delivery: SyncRun): unknown {
    if (err instanceof FollowTimeoutError) {
      const seconds = Math.round(delivery.request.target.timeoutMs / 1000);
      return new DeployError(
        'timeout',
        `${this.where(delivery)} did not finish within ${seconds}s; it stood at: ${whereItStood(err.latest)}`,
        this.target(delivery),
        { cause: err },
      );
    }
    return toDeployError(err, {
      application: delivery.name,
      instance: delivery.request.target.argocd.instance,
      target: this.target(delivery),
    });
  }

  private where(delivery: SyncRun): string {
    return `application '${delivery.name}' on Argo CD instance '${delivery.request.target.argocd.instance}'`;
  }

  private target(delivery: SyncRun): string {
    const latest = delivery.follower.latest;
    return latest
      ? applicationTarget(latest)
      : `Application/${delivery.scope.appNamespace ?? 'argocd'}/${delivery.name}`;
  }

  private callOptions(delivery: SyncRun) {
    return { signal: delivery.signal, deadline: delivery.request.delivery.deadline };
  }
}

function infosOf(record: DeliveryRecord) {
  return [
    { name: INFO_NAMES.context, value: record.shkeptncontext },
    { name: INFO_NAMES.triggeredid, value: record.triggeredid },
  ];
}

/**
 * Same server, TLS settings and credentials: a reload that rewrote the file without changing the instance
 * keeps its client (and session).
 */
function sameInstance(a: ArgoInstance, b: ArgoInstance): boolean {
  if (a === b) return true;
  const credentials = (i: ArgoInstance) =>
    i.auth.kind === 'token' ? [i.auth.token.reveal()] : [i.auth.username.reveal(), i.auth.password.reveal()];
  return (
    a.server === b.server &&
    a.caFile === b.caFile &&
    a.insecure === b.insecure &&
    a.auth.kind === b.auth.kind &&
    credentials(a).join('\0') === credentials(b).join('\0')
  );
}

function decided(verdict: ArgoVerdict): Exclude<ArgoVerdict, { state: 'waiting' }> | undefined {
  return verdict.state === 'waiting' ? undefined : verdict;
}
