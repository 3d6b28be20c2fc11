import type { ServiceEnv } from '../config/env.js';
import type { GitopsConfig } from '../config/gitops-config.js';
import type { FluxObject } from '../deployers/flux/index.js';
import { KubeApi, SELF_SUBJECT_ACCESS_REVIEWS } from '../kube/kube-api.js';
import { loadKubeConfig } from '../kube/kube-config.js';
import { KubeApiError } from '../kube/kube-errors.js';
import { hasPlaceholder, type CheckReporter } from './check-line.js';
import { FLUX_RESOURCES } from '../gitops/identity.js';

const FLUX_VERBS = ['get', 'watch', 'patch'] as const;

/**
 * Kubernetes API reachable, Flux CRDs served, RBAC allowing get/watch/patch on each Flux kind the
 * targets reference, and a warning for Kustomizations that are only applied, not health-checked.
 */
export async function checkKubernetes(
  env: ServiceEnv,
  config: GitopsConfig,
  report: CheckReporter,
): Promise<void> {
  const fluxTargets = config.rules.flatMap((rule) => (rule.flux ? [rule.flux] : []));
  if (fluxTargets.length === 0 && !env.kubeconfig) {
    report({ status: 'ok', name: 'kubernetes', detail: 'no Flux targets; not needed' });
    return;
  }
  let api: KubeApi;
  try {
    api = new KubeApi(loadKubeConfig(env.kubeconfig));
  } catch (err) {
    report({
      status: 'FAIL',
      name: 'kubernetes',
      detail: `no usable kubeconfig (${env.kubeconfig ?? 'in-cluster'}): ${(err as Error).message}`,
    });
    return;
  }
  try {
    await checkFlux(api, fluxTargets, report);
  } finally {
    await api.close();
  }
}

async function checkFlux(
  api: KubeApi,
  fluxTargets: { kind: keyof typeof FLUX_RESOURCES; name: string; namespace: string }[],
  report: CheckReporter,
): Promise<void> {
  const server = api.server;
  for (const kind of new Set(fluxTargets.map((t) => t.kind))) {
    const ref = FLUX_RESOURCES[kind];
    try {
      const served = (await api.servedResources(ref.group, ref.version)).includes(ref.plural);
      report({
        status: served ? 'ok' : 'FAIL',
        name: 'flux crd',
        detail: served
          ? `${server}: ${ref.plural}.${ref.group}/${ref.version} served`
          : `${server}: ${ref.group}/${ref.version} does not serve ${ref.plural}; install Flux`,
      });
    } catch (err) {
      report({
        status: 'FAIL',
        name: 'flux crd',
        detail: `${server}: cannot read ${ref.group}/${ref.version} (${describe(err)}); is Flux installed and the API reachable?`,
      });
      return;
    }
  }
  await checkRbac(api, fluxTargets, report);
  await checkHealthChecks(api, fluxTargets, report);
}

interface AccessReview {
  status?: { allowed?: boolean };
}

async function checkRbac(
  api: KubeApi,
  targets: { kind: keyof typeof FLUX_RESOURCES; namespace: string }[],
  report: CheckReporter,
): Promise<void> {
  const seen = new Set<string>();
  for (const target of targets) {
    const ref = FLUX_RESOURCES[target.kind];
    const key = `${ref.plural}/${target.namespace}`;
    if (seen.has(key) || hasPlaceholder(target.namespace)) continue;
    seen.add(key);
    const denied: string[] = [];
    for (const verb of FLUX_VERBS) {
      try {
        const review = await api.create<AccessReview>(SELF_SUBJECT_ACCESS_REVIEWS, undefined, {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: {
            resourceAttributes: { group: ref.group, resource: ref.plural, verb, namespace: target.namespace },
          },
        });
        if (!review.status?.allowed) denied.push(verb);
      } catch (err) {
        denied.push(`${verb} (review failed: ${describe(err)})`);
      }
    }
    report({
      status: denied.length ? 'FAIL' : 'ok',
      name: 'rbac',
      detail: denied.length
        ? `not allowed to ${denied.join(', ')} ${ref.plural}.${ref.group} in namespace ${target.namespace}; grant them to the service account`
        : `get, watch, patch ${ref.plural}.${ref.group} in namespace ${target.namespace}`,
    });
  }
}

async function checkHealthChecks(
  api: KubeApi,
  targets: { kind: keyof typeof FLUX_RESOURCES; name: string; namespace: string }[],
  report: CheckReporter,
): Promise<void> {
  for (const target of targets) {
    const id = `${target.kind} ${target.namespace}/${target.name}`;
    if (hasPlaceholder(target.name) || hasPlaceholder(target.namespace)) {
      report({ status: 'ok', name: 'flux target', detail: `${id}: has placeholders, resolved per delivery` });
      continue;
    }
    const ref = FLUX_RESOURCES[target.kind];
    try {
      const obj = await api.get<FluxObject>(ref, target.namespace, target.name);
      if (target.kind === 'Kustomization' && !obj.spec?.wait && !(obj.spec?.healthChecks?.length ?? 0)) {
        report({
          status: 'warn',
          name: 'flux target',
          detail: `${id} has no spec.wait or spec.healthChecks: Ready means applied, not rolled out; set spec.wait: true`,
        });
      } else {
        report({ status: 'ok', name: 'flux target', detail: `${id} found` });
      }
    } catch (err) {
      report({ status: 'FAIL', name: 'flux target', detail: `${id}: ${describe(err)}` });
    }
  }
}

function describe(err: unknown): string {
  if (
    err instanceof KubeApiError &&
    (err.kind === 'not-found' || err.kind === 'forbidden' || err.kind === 'unauthorized')
  )
    return err.kind.replace('-', ' ');
  return (err as Error).message?.split('\n')[0] ?? String(err);
}
