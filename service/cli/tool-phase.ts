import { silentLogger } from '../../lib/index.js';
import type { ServiceEnv } from '../config/env.js';
import type { Scope } from '../config/gitops-config.js';
import { resolveTarget } from '../config/resolve-target.js';
import { loadTargetsFile } from '../config/targets-loader.js';
import { ArgoCdClient } from '../deployers/argocd/index.js';
import type { Application } from '../deployers/argocd/application.js';
import type { FluxObject } from '../deployers/flux/index.js';
import { conditionOf } from '../deployers/flux/flux-resources.js';
import { KubeApi } from '../kube/kube-api.js';
import { loadKubeConfig } from '../kube/kube-config.js';
import { FLUX_RESOURCES } from '../gitops/identity.js';

/** Reads, for `trigger --wait`'s progress line, where the GitOps tool stands with the task's target. */
export interface ToolPhase {
  /**
   * One short line, e.g. "Flux Kustomization flux-system/podinfo: reconciling: Running health checks ...";
   * undefined when unknown now.
   */
  read(): Promise<string | undefined>;
  close(): Promise<void>;
}

const READ_TIMEOUT_MS = 3000;

/**
 * The target of this scope, read with the same targets file and credentials as the service (the
 * CLI runs with the service's environment in its pod). Undefined when that is not at hand (no
 * targets file, no rule for the scope, no kubeconfig): the line then shows Keptn's side only.
 */
export function toolPhaseFor(env: ServiceEnv, scope: Scope): ToolPhase | undefined {
  let target;
  let config;
  try {
    config = loadTargetsFile(env.configFile, env.raw);
    target = resolveTarget(config, scope);
  } catch {
    return undefined;
  }
  if (!target) return undefined;
  if (target.tool === 'flux') {
    const { kind, namespace, name } = target.flux;
    let kube: KubeApi;
    try {
      kube = new KubeApi(loadKubeConfig(env.kubeconfig));
    } catch {
      return undefined;
    }
    const label = `Flux ${kind} ${namespace}/${name}`;
    return {
      read: async () => {
        const obj = await kube
          .get<FluxObject>(FLUX_RESOURCES[kind], namespace, name, { timeoutMs: READ_TIMEOUT_MS })
          .catch(() => undefined);
        return obj && `${label}: ${describeFluxPhase(obj)}`;
      },
      close: () => kube.close(),
    };
  }
  const instance = config.instances.get(target.argocd.instance);
  if (!instance) return undefined;
  const client = new ArgoCdClient({
    instance,
    logger: silentLogger,
    requestTimeoutMs: READ_TIMEOUT_MS,
    retry: { initialMs: 200, maxMs: 1000 },
  });
  const { application, appNamespace, project } = target.argocd;
  return {
    read: async () => {
      const app = await client
        .getApplication(application, { appNamespace, project }, { deadline: Date.now() + READ_TIMEOUT_MS })
        .catch(() => undefined);
      return app && `Argo CD ${application}: ${describeArgoPhase(app)}`;
    },
    close: () => client.close(),
  };
}

/**
 * Flux's own words: reconciling (with its message, e.g. "Running health checks ..."), stalled, ready or not.
 */
export function describeFluxPhase(obj: FluxObject): string {
  if (obj.spec?.suspend) return 'suspended';
  const reconciling = conditionOf(obj, 'Reconciling');
  if (reconciling?.status === 'True') {
    const phase = /health check/i.test(reconciling.message ?? '') ? 'health checks' : 'reconciling';
    return `${phase}: ${reconciling.message ?? reconciling.reason ?? ''}`.trim();
  }
  const stalled = conditionOf(obj, 'Stalled');
  if (stalled?.status === 'True') return `stalled: ${stalled.message ?? stalled.reason ?? ''}`.trim();
  const ready = conditionOf(obj, 'Ready');
  if (!ready) return 'no Ready condition yet';
  const word = ready.status === 'True' ? 'ready' : ready.status === 'False' ? 'not ready' : 'in progress';
  return `${word}: ${ready.message ?? ready.reason ?? ''}`.trim();
}

/** Argo CD's own words: the operation's phase, the sync and health status. */
export function describeArgoPhase(app: Application): string {
  const operation = app.status?.operationState;
  const parts = [
    operation?.phase
      ? `operation ${operation.phase}${operation.message ? ` (${operation.message})` : ''}`
      : undefined,
    `sync ${app.status?.sync?.status ?? 'Unknown'}`,
    `health ${app.status?.health?.status ?? 'Unknown'}`,
  ];
  return parts.filter(Boolean).join(', ');
}
