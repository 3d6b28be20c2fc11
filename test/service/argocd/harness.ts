import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import type { ArgoInstance, ResolvedArgoTarget } from '../../../service/config/gitops-config.js';
import type { ArgoTargetSpec } from '../../../service/config/targets-schema.js';
import { Secret } from '../../../service/config/secret.js';
import type { DeployRequest } from '../../../service/deployers/deployer.js';
import { ArgoCdDeployer, type ArgoCdDeployerOptions } from '../../../service/deployers/argocd/index.js';
import { ArgoCdSimulator, type ArgoCdSimulatorStartOptions } from '../../../service/sandbox/argocd/index.js';
import { createServiceMetrics, type ServiceMetrics } from '../../../service/metrics.js';
import { silentLogger } from '../../../lib/log.js';

export const TOKEN = 'argocd-api-token-s3cr3t';
export const USER = { username: 'keptn', password: 'p4ssw0rd-s3cr3t' };

export interface Harness {
  sim: ArgoCdSimulator;
  deployer: ArgoCdDeployer;
  metrics: ServiceMetrics;
  registry: Registry;
  controller: AbortController;
  close(): Promise<void>;
}

export interface HarnessOptions {
  auth?: 'token' | 'login';
  simulator?: ArgoCdSimulatorStartOptions;
  deployer?: Partial<ArgoCdDeployerOptions>;
  instanceName?: string;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const auth = options.auth ?? 'token';
  const sim = await new ArgoCdSimulator().start({
    stepMs: 10,
    ...(auth === 'token' ? { tokens: [TOKEN] } : { users: [USER] }),
    ...options.simulator,
  });
  const name = options.instanceName ?? 'default';
  const instance: ArgoInstance = {
    name,
    server: sim.url,
    insecure: false,
    auth:
      auth === 'token'
        ? { kind: 'token', token: new Secret(TOKEN) }
        : { kind: 'login', username: new Secret(USER.username), password: new Secret(USER.password) },
  };
  const registry = new Registry();
  const metrics = createServiceMetrics(registry);
  const deployer = new ArgoCdDeployer({
    instances: () => new Map([[name, instance]]),
    logger: silentLogger,
    metrics,
    retry: { initialMs: 5, maxMs: 20 },
    pollIntervalMs: 20,
    ...options.deployer,
  });
  const controller = new AbortController();
  return {
    sim,
    deployer,
    metrics,
    registry,
    controller,
    async close() {
      controller.abort();
      await deployer.close();
      await sim.stop();
    },
  };
}

export interface RequestOptions extends Partial<ArgoTargetSpec> {
  requestedRevision?: string;
  timeoutMs?: number;
  triggeredid?: string;
}

export function deliverRequest(
  h: Harness,
  application: string,
  options: RequestOptions = {},
): DeployRequest<ResolvedArgoTarget> {
  const { requestedRevision, timeoutMs = 3000, triggeredid = randomUUID(), ...spec } = options;
  return {
    target: {
      tool: 'argocd',
      rule: 0,
      timeoutMs,
      deploymentName: 'direct',
      argocd: {
        application,
        instance: 'default',
        prune: false,
        syncOptions: [],
        onRunningOperation: 'wait',
        ...spec,
      },
    },
    delivery: {
      project: 'sockshop',
      stage: 'dev',
      service: 'carts',
      type: 'sh.keptn.event.deliver.triggered',
      shkeptncontext: randomUUID(),
      triggeredid,
      labels: {},
      requestedRevision,
      phase: 'started',
      startedAt: new Date().toISOString(),
      deadline: Date.now() + timeoutMs,
    },
    signal: h.controller.signal,
  };
}

/** The value of a counter for some labels (0 when never incremented). */
export async function counterValue(
  h: Harness,
  metric: string,
  labels: Record<string, string>,
): Promise<number> {
  const json = await h.registry.getSingleMetric(metric)!.get();
  return json.values
    .filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))
    .reduce((sum, v) => sum + v.value, 0);
}
