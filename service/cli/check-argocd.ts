import { silentLogger } from '../../lib/index.js';
import type { GitopsConfig } from '../config/gitops-config.js';
import { ArgoCdClient } from '../deployers/argocd/index.js';
import { hasPlaceholder, type CheckReporter } from './check.js';

/** Each Argo CD instance reachable with its credentials, and each referenced application visible. */
export async function checkArgoCd(config: GitopsConfig, report: CheckReporter): Promise<void> {
  const targets = config.rules.flatMap((rule) => (rule.argocd ? [rule.argocd] : []));
  const used = new Set(targets.map((t) => t.instance));
  for (const [name, instance] of config.instances) {
    if (!used.has(name) && name === 'default') continue;
    const client = new ArgoCdClient({ instance, logger: silentLogger, requestTimeoutMs: 5000, retry: { baseMs: 200, maxMs: 1000 } });
    const deadline = Date.now() + 5000;
    try {
      await client.listApplications(undefined, {}, { deadline });
      report({ status: 'ok', name: 'argocd', detail: `instance '${name}' ${instance.server}: reachable with its credentials` });
    } catch (err) {
      report({ status: 'FAIL', name: 'argocd', detail: `instance '${name}' ${instance.server}: ${(err as Error).message}` });
      continue;
    }
    for (const target of targets.filter((t) => t.instance === name)) {
      const app = `${target.appNamespace ? `${target.appNamespace}/` : ''}${target.application}`;
      if (hasPlaceholder(target.application)) {
        report({ status: 'ok', name: 'application', detail: `${app} on '${name}': has placeholders, resolved per delivery` });
        continue;
      }
      try {
        await client.getApplication(target.application, { appNamespace: target.appNamespace, project: target.project }, { deadline: Date.now() + 5000 });
        report({ status: 'ok', name: 'application', detail: `${app} on '${name}': visible` });
      } catch (err) {
        report({ status: 'FAIL', name: 'application', detail: `${app} on '${name}': ${(err as Error).message}` });
      }
    }
  }
}
