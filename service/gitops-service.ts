import { Registry } from 'prom-client';
import {
  createSequenceTriggeredEvent,
  KeptnIntegration,
  type EventSink,
  type EventSource,
  type Logger,
} from '../lib/index.js';
import { ConfigWatcher } from './config/config-watcher.js';
import type { ServiceEnv } from './config/env.js';
import { loadTargetsFile } from './config/targets-loader.js';
import { deriveSubscriptions, NO_RULES_WARNING } from './config/subscriptions.js';
import { ArgoCdDeployer } from './deployers/argocd/index.js';
import { FluxDeployer } from './deployers/flux/index.js';
import { DeliveryAdopter } from './delivery/delivery-adopter.js';
import { ConfigMapDeliveryStore } from './state/configmap-delivery-store.js';
import { ReplicaLease } from './leases/replica-lease.js';
import { LeaderElection } from './leases/leader-election.js';
import { PollerLeadership } from './delivery/poller-leadership.js';
import { DeliveryHandler } from './delivery/delivery-handler.js';
import type { ToolDeployers } from './delivery/tool-deployers.js';
import { KubeApi } from './kube/kube-api.js';
import { loadKubeConfig } from './kube/kube-config.js';
import { createServiceMetrics } from './metrics.js';
import { ConfigMapSeenRevisions } from './state/configmap-seen-revisions.js';
import { KubeFluxSourceLookup, StaticFluxSourceLookup } from './webhooks/flux-sources.js';
import { NotificationHandler } from './webhooks/notification-handler.js';
import { MemorySeenRevisions } from './state/seen-revisions.js';
import type { SequenceTrigger } from './webhooks/sequence-trigger.js';
import { createWebhookServer } from './webhooks/webhook-server.js';

export interface GitopsServiceOptions {
  env: ServiceEnv;
  logger: Logger;
  /** The demo's in-process bus, used instead of NATS/HTTP when set. */
  transport?: EventSource & EventSink;
}

export interface RunningGitopsService {
  readonly healthPort: number | undefined;
  readonly webhookPort: number;
  stop(): Promise<void>;
}

/**
 * The composition root of `keptn-gitops serve`: targets file, deployers, the SDK's integration with
 * one delivery handler per task, the webhook endpoints, and the reloader. Nothing here decides
 * anything; each part owns its job.
 */
export async function startGitopsService(options: GitopsServiceOptions): Promise<RunningGitopsService> {
  const { env, logger } = options;
  const runStartedAt = Date.now();
  const initial = loadTargetsFile(env.configFile, env.raw);
  if (initial.rules.length === 0) logger.warn(NO_RULES_WARNING, { file: initial.file });
  const registry = new Registry();
  const metrics = createServiceMetrics(registry);
  const watcher = new ConfigWatcher({ file: env.configFile, initial, env: env.raw, logger, metrics });
  const getConfig = () => watcher.current;

  const kube = kubeApiFor(
    env,
    initial.rules.some((r) => r.flux),
    logger,
  );
  const identity = env.podName;
  const state = kube
    ? {
        store: new ConfigMapDeliveryStore({
          kube,
          namespace: env.namespace,
          integrationName: env.integrationName,
          owner: identity,
          logger,
          metrics,
        }),
        replicas: new ReplicaLease({
          kube,
          namespace: env.namespace,
          integrationName: env.integrationName,
          podName: identity,
          ...leaseTiming(env.replicaLeaseSeconds),
          logger,
        }),
      }
    : undefined;
  const flux = kube ? new FluxDeployer({ kube, logger, metrics }) : undefined;
  const argocd = new ArgoCdDeployer({ instances: () => watcher.current.instances, logger, metrics });
  const argocdTool: ToolDeployers['argocd'] = {
    deploy: (r) => argocd.deploy(r),
    resume: (r) => argocd.resume(r),
    settle: async () => undefined,
  };
  const deployers: ToolDeployers = {
    flux: flux && {
      deploy: (r) => flux.deploy(r),
      resume: (r) => flux.resume(r),
      settle: (r) => flux.clearMarker(r.target, { deadline: Date.now() + 30_000 }),
    },
    // Asked per delivery: a reloaded targets file may add the first instance.
    get argocd() {
      return watcher.current.instances.size > 0 ? argocdTool : undefined;
    },
  };
  // Remote mode with a cluster: only the holder of the poller Lease polls the Keptn API.
  let poller: PollerLeadership | undefined;
  const handler = new DeliveryHandler({
    getConfig,
    deployers,
    logger,
    metrics,
    store: state?.store,
    owner: identity,
    durableStore: Boolean(state),
  });

  const integration = new KeptnIntegration({
    name: env.integrationName,
    mode: options.transport
      ? {
          kind: 'custom',
          source: options.transport,
          sink: options.transport,
          controlPlane: env.shipyardController,
        }
      : env.keptnApiEndpoint
        ? {
            kind: 'http',
            apiEndpoint: env.keptnApiEndpoint,
            token: env.keptnApiToken,
            sslVerify: env.httpSslVerify,
            pollWhen: () => poller?.isPolling() ?? true,
          }
        : {
            kind: 'nats',
            servers: env.eventBroker,
            shipyardController: env.shipyardController,
            jetstream: env.jetstream,
          },
    metadata: {
      hostname: env.nodeName,
      integrationVersion: env.deploymentVersion,
      location: env.location,
      namespace: env.namespace,
      podName: env.podName,
      deploymentName: env.deploymentName,
    },
    subscriptions: deriveSubscriptions(initial, env.tasks, env.pubsubTopics),
    logger,
    registry,
    healthPort: env.healthPort,
  });
  for (const task of env.tasks) integration.handle(task, handler);

  const notifications = new NotificationHandler({
    logger,
    metrics,
    getConfig,
    seen: kube
      ? new ConfigMapSeenRevisions({ kube, namespace: env.namespace, integrationName: env.integrationName })
      : new MemorySeenRevisions(),
    sources: kube ? new KubeFluxSourceLookup({ kube }) : new StaticFluxSourceLookup({ objects: [] }),
    startSequence: (trigger: SequenceTrigger) =>
      integration.publish(sequenceEvent(trigger, env.integrationName)),
    isFollowing: (tool, target, instance) => handler.active.has(tool, target, instance),
    wakeFollower: (tool, target, instance) =>
      void (tool === 'flux' ? flux?.nudge(target) : argocd?.nudge(target, instance)),
  });
  const webhooks = await createWebhookServer({
    port: env.webhookPort,
    logger,
    metrics,
    getConfig,
    handler: notifications,
  });

  await watcher.start();
  await state?.replicas.start();
  await integration.start();
  if (env.keptnApiEndpoint && state) {
    poller = new PollerLeadership({
      election: new LeaderElection({
        kube: kube!,
        namespace: env.namespace,
        integrationName: env.integrationName,
        identity,
        logger,
        ...leaseTiming(env.replicaLeaseSeconds),
      }),
      takenElsewhere: async () => (await state.store.list()).map((r) => r.triggeredid),
      ignore: (id) => integration.eventLoop?.ignore(id),
      logger,
    });
    await poller.start();
  }
  const adopter =
    state &&
    new DeliveryAdopter({
      ...state,
      handler,
      loop: () => integration.eventLoop,
      getConfig,
      fluxToken: (entry, target) =>
        flux && target.tool === 'flux'
          ? flux.markerToken(target, entry.triggeredid)
          : Promise.resolve(undefined),
      logger,
      runStartedAt,
      intervalMs: Math.max(1000, (env.replicaLeaseSeconds * 1000) / 2),
    });
  await adopter?.start();
  logger.info('keptn-gitops-service started', {
    tasks: env.tasks,
    mode: options.transport ? 'in-process' : env.keptnApiEndpoint ? 'remote' : 'nats',
    targets: initial.rules.length,
    flux: Boolean(flux),
    argocd: [...initial.instances.keys()],
    healthPort: integration.healthPort,
    webhookPort: webhooks.port,
    node: process.version,
  });

  return {
    healthPort: integration.healthPort,
    webhookPort: webhooks.port,
    async stop() {
      watcher.stop();
      adopter?.stop();
      await poller?.stop();
      await webhooks.close();
      await notifications.idle();
      await integration.stop({ deadlineMs: env.shutdownTimeoutMs });
      void flux?.close();
      argocd?.close();
      // Released last: with the lease gone, another replica adopts what was handed over at once.
      await state?.replicas.stop();
      await kube?.close();
    },
  };
}

/** Renew a Lease three times per duration; standbys try to acquire four times per duration. */
function leaseTiming(leaseDurationSeconds: number) {
  const ms = leaseDurationSeconds * 1000;
  return {
    leaseDurationSeconds,
    renewMs: Math.max(300, ms / 3),
    retryMs: Math.max(250, Math.min(2000, ms / 4)),
  };
}

function sequenceEvent(trigger: SequenceTrigger, source: string) {
  return createSequenceTriggeredEvent({
    stage: trigger.stage,
    sequence: trigger.sequence,
    source,
    shkeptncontext: trigger.shkeptncontext,
    data: trigger.data as { project: string; service: string },
  });
}

/** The Kubernetes API that runs Flux: KUBECONFIG, else in-cluster when Flux targets need it. */
function kubeApiFor(env: ServiceEnv, needed: boolean, logger: Logger): KubeApi | undefined {
  if (!env.kubeconfig && !needed) return undefined;
  try {
    return new KubeApi(loadKubeConfig(env.kubeconfig));
  } catch (err) {
    if (needed)
      throw new Error(
        `Flux targets need a Kubernetes API, but no kubeconfig could be loaded (${env.kubeconfig ?? 'in-cluster'}): ${(err as Error).message}`,
        { cause: err },
      );
    logger.warn('no Kubernetes API: notifications dedupe in memory only', { error: (err as Error).message });
    return undefined;
  }
}
