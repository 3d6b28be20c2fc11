import { type Logger, type BackoffOptions } from '../../../lib/index.js';
import type { ResolvedFluxTarget } from '../../config/gitops-config.js';
import type { ServiceMetrics } from '../../metrics.js';
import type { KubeApi } from '../../kube/kube-api.js';
import { KubeClient, systemClock, type Clock } from '../../kube/kube-client.js';
import { WatchHubs } from '../../kube/watch-hub.js';
import { KeyedQueue } from '../../util/keyed-queue.js';
import {
  DeployError,
  type Deployer,
  type DeployRequest,
  type DeployResult,
  type Recovery,
} from '../deployer.js';
import { encodeDelivery } from '../../state/delivery-record.js';
import { parseMarker } from './delivery-marker.js';
import { suspendedError, toDeployError } from './deploy-errors.js';
import { Follower, type Decided } from './follow.js';
import { ANNOTATIONS, type FluxObject } from './flux-resources.js';
import { newReconcileToken } from './reconcile-token.js';
import type { DeliveryRecord } from '../../state/delivery-record.js';
import { sourceOf, type SourceTarget } from './source-ref.js';
import { FLUX_RESOURCES, targetId, type FluxResourceKind } from '../../gitops/identity.js';

export interface FluxDeployerOptions {
  kube: KubeApi;
  logger: Logger;
  metrics?: ServiceMetrics;
  clock?: Clock;
  retry?: BackoffOptions;
  /** Per API request (default 15 s). */
  requestTimeoutMs?: number;
}

/** How long clearing the marker after a delivery may take (retries included). */
const SETTLE_MS = 30_000;

interface Followed {
  kind: FluxResourceKind;
  namespace: string;
  name: string;
  target: string;
}

/**
 * Deploys through Flux like `flux reconcile [--with-source] [--force]`: merge-patches
 * `reconcile.fluxcd.io/requestedAt` (with our delivery marker) and follows the object on one shared
 * watch per (kind, namespace) until its reconcile of our token is decided.
 */
export class FluxDeployer implements Deployer<ResolvedFluxTarget> {
  readonly client: KubeClient;
  private readonly hubs: WatchHubs;
  private readonly queue = new KeyedQueue();
  private readonly logger: Logger;
  private readonly clock: Clock;

  constructor(options: FluxDeployerOptions) {
    this.logger = options.logger;
    this.clock = options.clock ?? systemClock;
    this.client = new KubeClient({
      kube: options.kube,
      logger: options.logger,
      metrics: options.metrics,
      tool: 'flux',
      retry: options.retry,
      requestTimeoutMs: options.requestTimeoutMs,
      clock: this.clock,
    });
    this.hubs = new WatchHubs({
      client: this.client,
      logger: options.logger,
      metrics: options.metrics,
      tool: 'flux',
    });
  }

  deploy(request: DeployRequest<ResolvedFluxTarget>): Promise<DeployResult> {
    const t = followed(request.target);
    return this.queue.run(t.target, () => this.run(request, t, true));
  }

  resume(request: DeployRequest<ResolvedFluxTarget>): Promise<DeployResult> {
    const t = followed(request.target);
    return this.queue.run(t.target, () => this.run(request, t, false));
  }

  /** Removes the delivery marker once the `.finished` is flushed. */
  settle(request: DeployRequest<ResolvedFluxTarget>): Promise<void> {
    return this.clearMarker(request.target, { deadline: this.clock.now() + SETTLE_MS });
  }

  /** Resumes when the object's marker carries this delivery's token; else the patch never happened. */
  async recover(target: ResolvedFluxTarget, delivery: DeliveryRecord): Promise<Recovery> {
    const token = await this.markerToken(target, delivery.triggeredid);
    return { mode: token ? 'resume' : 'deploy', delivery: { ...delivery, token } };
  }

  /** Removes the delivery marker (after the `.finished` is flushed); a missing object is fine. */
  async clearMarker(
    target: ResolvedFluxTarget,
    options: { deadline?: number; signal?: AbortSignal } = {},
  ): Promise<void> {
    const t = followed(target);
    try {
      await this.client.patchMerge(
        FLUX_RESOURCES[t.kind],
        t.namespace,
        t.name,
        { metadata: { annotations: { [ANNOTATIONS.delivery]: null } } },
        options,
      );
    } catch (err) {
      const error = toDeployError(err, t);
      if (error.kind !== 'not-found') throw error;
    }
  }

  /** Re-reads `Kind/ns/name` now and re-judges its followers (a Flux notification about it arrived). */
  async nudge(target: string): Promise<void> {
    const [kind, namespace, name] = target.split('/');
    if (!kind || !namespace || !name || !(kind in FLUX_RESOURCES)) return;
    const ref = FLUX_RESOURCES[kind as FluxResourceKind];
    try {
      const obj = await this.client.get<FluxObject & { metadata: { name: string } }>(ref, namespace, name, {
        deadline: this.clock.now() + 10_000,
      });
      this.hubs.for<FluxObject & { metadata: { name: string } }>(ref, namespace).publish(obj);
    } catch (err) {
      this.logger.debug('nudge could not read object', {
        target,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }

  /**
   * The token our marker on the Flux object carries for this delivery; undefined if never patched (or
   * unreadable).
   */
  async markerToken(target: ResolvedFluxTarget, triggeredid: string): Promise<string | undefined> {
    const { kind, namespace, name } = target.flux;
    try {
      const obj = await this.client.get<FluxObject>(FLUX_RESOURCES[kind], namespace, name, {
        deadline: Date.now() + 30_000,
      });
      const marker = parseMarker(obj.metadata.annotations?.[ANNOTATIONS.delivery]);
      return marker?.triggeredid === triggeredid ? marker.token : undefined;
    } catch {
      return undefined;
    }
  }

  /** Stops every watch. */
  async close(): Promise<void> {
    await this.hubs.close();
  }

  private async run(
    request: DeployRequest<ResolvedFluxTarget>,
    t: Followed,
    trigger: boolean,
  ): Promise<DeployResult> {
    const { delivery, signal } = request;
    const startedAt = delivery.startedAt ?? new Date(this.clock.now()).toISOString();
    const finish = (d: Decided): DeployResult => ({
      result: d.result,
      message: d.message,
      target: t.target,
      tool: 'flux',
      revision: d.revision,
      images: [],
      externalURLs: [],
      startedAt,
      finishedAt: new Date(this.clock.now()).toISOString(),
    });
    const call = { deadline: delivery.deadline, signal };
    const log = this.logger.child({ shkeptncontext: delivery.shkeptncontext, target: t.target });

    // 1. The object must exist and not be suspended.
    const obj = await this.read(t, call);

    // 2. With source: reconcile the source first and wait for its new artifact.
    if (trigger && request.target.flux.withSource) {
      const source = sourceOf(t.kind, obj);
      const sourceResult = await this.reconcile(
        { ...source, target: targetId(source.kind, source.namespace, source.name) },
        { ...call, requestedRevision: undefined, marker: undefined, force: false },
      );
      if (sourceResult.result === 'fail') return finish(sourceResult);
      log.info('source reconciled', { source: source.kind, revision: sourceResult.revision });
    }

    // 3. Trigger (or, resuming, just follow the token already set).
    if (!trigger) {
      if (!delivery.token)
        throw new DeployError(
          'invalid',
          `cannot resume the delivery to ${t.target}: its record has no reconcile token`,
          t.target,
        );
      return finish(
        await this.follow(t, obj, {
          token: delivery.token,
          previousHandled: undefined,
          requestedRevision: delivery.requestedRevision,
          ...call,
        }),
      );
    }
    const force = request.target.flux.force && t.kind === 'HelmRelease';
    const decided = await this.reconcile(t, {
      ...call,
      requestedRevision: delivery.requestedRevision,
      marker: delivery,
      force,
      current: obj,
    });
    log.info('flux reconcile decided', { result: decided.result, revision: decided.revision });
    return finish(decided);
  }

  /** Patches a fresh token onto `t` and follows it to a verdict. */
  private async reconcile(
    t: Followed,
    options: {
      deadline: number;
      signal: AbortSignal;
      requestedRevision?: string;
      marker?: DeployRequest['delivery'];
      force: boolean;
      current?: FluxObject;
    },
  ): Promise<Decided> {
    const current = options.current ?? (await this.read(t, options));
    const ref = FLUX_RESOURCES[t.kind];
    const follower = new Follower(this.hubs.for(ref, t.namespace), t.name);
    try {
      const token = newReconcileToken(this.clock);
      const annotations: Record<string, string> = { [ANNOTATIONS.requestedAt]: token };
      if (options.force) annotations[ANNOTATIONS.forceAt] = token;
      if (options.marker) annotations[ANNOTATIONS.delivery] = encodeDelivery({ ...options.marker, token });
      const patched = await this.client
        .patchMerge<FluxObject>(
          ref,
          t.namespace,
          t.name,
          { metadata: { annotations } },
          { deadline: options.deadline, signal: options.signal, retryOnConflict: true },
        )
        .catch((err: unknown) => Promise.reject(toDeployError(err, t)));
      follower.start(
        {
          kind: t.kind,
          target: t.target,
          token,
          previousHandled: current.status?.lastHandledReconcileAt,
          requestedRevision: options.requestedRevision,
        },
        patched,
      );
      return await follower.wait(options.deadline, options.signal, this.clock);
    } finally {
      follower.close();
    }
  }

  private async follow(
    t: Followed,
    current: FluxObject,
    options: {
      token: string;
      previousHandled?: string;
      requestedRevision?: string;
      deadline: number;
      signal: AbortSignal;
    },
  ): Promise<Decided> {
    const follower = new Follower(this.hubs.for(FLUX_RESOURCES[t.kind], t.namespace), t.name);
    follower.start(
      {
        kind: t.kind,
        target: t.target,
        token: options.token,
        previousHandled: options.previousHandled,
        requestedRevision: options.requestedRevision,
      },
      current,
    );
    return follower.wait(options.deadline, options.signal, this.clock);
  }

  private async read(t: Followed, call: { deadline: number; signal: AbortSignal }): Promise<FluxObject> {
    let obj: FluxObject;
    try {
      obj = await this.client.get<FluxObject>(FLUX_RESOURCES[t.kind], t.namespace, t.name, call);
    } catch (err) {
      throw toDeployError(err, t);
    }
    if (obj.spec?.suspend === true) {
      throw suspendedError(t);
    }
    return obj;
  }
}

function followed(target: ResolvedFluxTarget | SourceTarget): Followed {
  const { kind, namespace, name } = 'flux' in target ? target.flux : target;
  return { kind, namespace, name, target: targetId(kind, namespace, name) };
}
