import { Registry } from 'prom-client';
import {
  KeptnIntegration,
  type EventSink,
  type EventSource,
  type EventLoop,
  type KeptnIntegrationOptions,
  type Logger,
} from '../lib/index.js';
import { ConfigWatcher } from './config/config-watcher.js';
import type { ServiceEnv } from './config/env.js';
import type { GitopsConfig } from './config/gitops-config.js';
import { deriveSubscriptions, NO_RULES_WARNING } from './config/subscriptions.js';
import { loadTargetsFile } from './config/targets-loader.js';
import { DeliveryAdopter } from './delivery/delivery-adopter.js';
import { DeliveryHandler } from './delivery/delivery-handler.js';
import { PollerLeadership } from './delivery/poller-leadership.js';
import { ToolDeployers } from './delivery/tool-deployers.js';
import { KubeApi } from './kube/kube-api.js';
import { loadKubeConfig } from './kube/kube-config.js';
import { LeaderElection } from './leases/leader-election.js';
import { leaseTiming } from './leases/lease-time.js';
import { ReplicaLease } from './leases/replica-lease.js';
import { createServiceMetrics, type ServiceMetrics } from './metrics.js';
import { ConfigMapDeliveryStore } from './state/configmap-delivery-store.js';
import type { DeliveryStore } from './state/delivery-record.js';
import { ConfigMapSeenRevisions } from './state/configmap-seen-revisions.js';
import { MemorySeenRevisions } from './state/seen-revisions.js';
import { KubeFluxSourceLookup, StaticFluxSourceLookup } from './webhooks/flux-sources.js';
import { NotificationHandler } from './webhooks/notification-handler.js';
import { sequenceTriggeredEvent } from './webhooks/sequence-trigger.js';
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
  const registry = new Registry();
  const metrics = createServiceMetrics(registry);
  const initial = loadTargets(env, logger);
  const watcher = new ConfigWatcher({ file: env.configFile, initial, env: env.raw, logger, metrics });
  const getConfig = () => watcher.current;
  const parts = { logger, metrics, getConfig };
  const kube = kubeApiFor(env, initial, logger);
  const state = kube && clusterState(kube, env, logger, metrics);
  const deployers = new ToolDeployers({ ...parts, kube, instances: () => getConfig().instances });
  const handler = new DeliveryHandler({ ...parts, deployers, store: state?.store, owner: env.podName });
  // Remote mode with a cluster: only the holder of the poller Lease polls the Keptn API.
  const poller: PollerLeadership | undefined =
    kube && state && env.keptnApiEndpoint
      ? pollerFor(kube, state.store, env, logger, () => integration.eventLoop)
      : undefined;
  const integration: KeptnIntegration = new KeptnIntegration({
    ...integrationOptions(env, options.transport, () => poller?.isPolling() ?? true),
    subscriptions: deriveSubscriptions(initial, env.tasks, env.pubsubTopics),
    logger,
    registry,
  });
  for (const task of env.tasks) integration.handle(task, handler);
  const notifications = new NotificationHandler({
    ...parts,
    ...pullStores(kube, env, logger),
    startSequence: (trigger) => integration.publish(sequenceTriggeredEvent(trigger, env.integrationName)),
    isFollowing: (tool, target, instance) => handler.active.has(tool, target, instance),
    wakeFollower: (tool, target, instance) => deployers.nudge(tool, target, instance),
  });
  const webhooks = await createWebhookServer({ ...parts, port: env.webhookPort, handler: notifications });
  const adopter =
    state &&
    new DeliveryAdopter({
      ...{ ...parts, ...state, handler, runStartedAt, loop: () => integration.eventLoop },
      intervalMs: Math.max(1000, (env.replicaLeaseSeconds * 1000) / 2),
    });

  await watcher.start();
  await state?.replicas.start();
  await integration.start();
  await poller?.start();
  await adopter?.start();
  const ports = { healthPort: integration.healthPort, webhookPort: webhooks.port };
  logger.info('keptn-gitops-service started', startedFields(env, options.transport, initial, kube, ports));
  return {
    ...ports,
    async stop() {
      watcher.stop();
      adopter?.stop();
      await poller?.stop();
      await webhooks.close();
      await notifications.idle();
      await integration.stop({ deadlineMs: env.shutdownTimeoutMs });
      await deployers.close();
      // Released last: with the lease gone, another replica adopts what was handed over at once.
      await state?.replicas.stop();
      await kube?.close();
    },
  };
}

function loadTargets(env: ServiceEnv, logger: Logger): GitopsConfig {
  const initial = loadTargetsFile(env.configFile, env.raw);
  if (initial.rules.length === 0) logger.warn(NO_RULES_WARNING, { file: initial.file });
  return initial;
}

function stateNames(env: ServiceEnv) {
  return { namespace: env.namespace, integrationName: env.integrationName };
}

/** With a cluster: delivery records every replica sees, and this replica's Lease saying it is alive. */
function clusterState(kube: KubeApi, env: ServiceEnv, logger: Logger, metrics: ServiceMetrics) {
  return {
    store: new ConfigMapDeliveryStore({ kube, ...stateNames(env), owner: env.podName, logger, metrics }),
    replicas: new ReplicaLease({ ...leaseOptions(kube, env, logger), podName: env.podName }),
  };
}

function leaseOptions(kube: KubeApi, env: ServiceEnv, logger: Logger) {
  return { kube, ...stateNames(env), logger, ...leaseTiming(env.replicaLeaseSeconds) };
}

/**
 * The poller Lease of remote mode: a new leader first marks the triggers other replicas' records hold as
 * taken, then polls.
 */
function pollerFor(
  kube: KubeApi,
  store: DeliveryStore,
  env: ServiceEnv,
  logger: Logger,
  loop: () => EventLoop | undefined,
): PollerLeadership {
  return new PollerLeadership({
    election: new LeaderElection({ ...leaseOptions(kube, env, logger), identity: env.podName }),
    takenElsewhere: async () => (await store.list()).map((r) => r.triggeredid),
    ignore: (id) => loop()?.ignore(id),
    logger,
  });
}

/** Where the pull direction remembers seen revisions and looks up Flux sources: the cluster, if any. */
function pullStores(kube: KubeApi | undefined, env: ServiceEnv, logger: Logger) {
  return kube
    ? {
        seen: new ConfigMapSeenRevisions({ kube, ...stateNames(env), logger }),
        sources: new KubeFluxSourceLookup({ kube, logger }),
      }
    : { seen: new MemorySeenRevisions(), sources: new StaticFluxSourceLookup({ objects: [] }) };
}

/** How the integration reaches Keptn: the demo's bus, the Keptn API (remote), or NATS. */
function integrationOptions(
  env: ServiceEnv,
  transport: (EventSource & EventSink) | undefined,
  pollWhen: () => boolean,
): Omit<KeptnIntegrationOptions, 'subscriptions' | 'logger' | 'registry'> {
  return {
    name: env.integrationName,
    mode: transport
      ? { kind: 'custom', source: transport, sink: transport, controlPlane: env.shipyardController }
      : env.keptnApiEndpoint
        ? {
            kind: 'http',
            apiEndpoint: env.keptnApiEndpoint,
            token: env.keptnApiToken,
            sslVerify: env.httpSslVerify,
            pollWhen,
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
    healthPort: env.healthPort,
  };
}

function startedFields(
  env: ServiceEnv,
  transport: unknown,
  initial: GitopsConfig,
  kube: KubeApi | undefined,
  ports: { healthPort: number | undefined; webhookPort: number },
): Record<string, unknown> {
  return {
    tasks: env.tasks,
    mode: transport ? 'in-process' : env.keptnApiEndpoint ? 'remote' : 'nats',
    targets: initial.rules.length,
    flux: Boolean(kube),
    argocd: [...initial.instances.keys()],
    ...ports,
    node: process.version,
  };
}

/** The Kubernetes API that runs Flux: KUBECONFIG, else in-cluster when Flux targets need it. */
function kubeApiFor(env: ServiceEnv, initial: GitopsConfig, logger: Logger): KubeApi | undefined {
  const needed = initial.rules.some((r) => r.flux);
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
