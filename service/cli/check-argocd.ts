import { silentLogger } from '../../lib/index.js';
import type { GitopsConfig } from '../config/gitops-config.js';
import type { ArgoTargetSpec } from '../config/targets-schema.js';
import { ArgoApiError, ArgoCdClient } from '../deployers/argocd/index.js';
import { hasPlaceholder, type CheckReporter } from './check-line.js';

const ARGOCD_403_HINT =
  " (Argo CD answers 403 both when the application does not exist and when the account may not see it: check the name, appNamespace and project, then the account's RBAC)";

/** Each Argo CD instance reachable with its credentials, and each referenced application visible. */
export async function checkArgoCd(config: GitopsConfig, report: CheckReporter): Promise<void> {
  const targets = config.rules.flatMap((rule) => (rule.argocd ? [rule.argocd] : []));
  const used = new Set(targets.map((t) => t.instance));
  for (const [name, instance] of config.instances) {
    if (!used.has(name) && name === 'default') continue;
    const client = new ArgoCdClient({
      instance,
      logger: silentLogger,
      requestTimeoutMs: 5000,
      retry: { initialMs: 200, maxMs: 1000 },
    });
    try {
      await checkInstance(
        client,
        name,
        targets.filter((t) => t.instance === name),
        report,
      );
    } finally {
      await client.close();
    }
  }
}

async function checkInstance(
  client: ArgoCdClient,
  name: string,
  targets: ArgoTargetSpec[],
  report: CheckReporter,
): Promise<void> {
  const server = client.instance.server;
  try {
    await client.listApplications(undefined, {}, { deadline: Date.now() + 5000 });
    report({
      status: 'ok',
      name: 'argocd',
      detail: `instance '${name}' ${server}: reachable with its credentials`,
    });
  } catch (err) {
    report({
      status: 'FAIL',
      name: 'argocd',
      detail: `instance '${name}' ${server}: ${(err as Error).message}`,
    });
    return;
  }
  for (const target of targets) {
    const app = `${target.appNamespace ? `${target.appNamespace}/` : ''}${target.application}`;
    if (hasPlaceholder(target.application)) {
      report({
        status: 'ok',
        name: 'application',
        detail: `${app} on '${name}': has placeholders, resolved per delivery`,
      });
      continue;
    }
    try {
      await client.getApplication(
        target.application,
        { appNamespace: target.appNamespace, project: target.project },
        { deadline: Date.now() + 5000 },
      );
      report({ status: 'ok', name: 'application', detail: `${app} on '${name}': visible` });
    } catch (err) {
      // Argo CD answers 403 for an application that does not exist, so as not to reveal which do.
      const hint = err instanceof ArgoApiError && err.status === 403 ? ARGOCD_403_HINT : '';
      report({
        status: 'FAIL',
        name: 'application',
        detail: `${app} on '${name}': ${(err as Error).message}${hint}`,
      });
    }
  }
}
