import type { ResolvedTarget } from '../config/gitops-config.js';
import { DeployError, type DeployResult } from '../deployers/deployer.js';

/**
 * The `.finished` data of a delivery, as the README ("Outcomes") describes it: Keptn's `deployment` block
 * that test and evaluation tasks read, and our `gitops` block saying what was deployed where.
 */
export function finishedFromResult(
  result: DeployResult,
  target: ResolvedTarget,
  strategy: string,
): Record<string, unknown> {
  const gitops: Record<string, unknown> = {
    tool: result.tool,
    target: result.target,
    revision: result.revision ?? '',
    images: result.images,
    startedAt: result.startedAt,
    finishedAt: result.finishedAt,
  };
  if (result.instance) gitops.instance = result.instance;
  return {
    status: 'succeeded',
    result: result.result,
    message: result.message,
    deployment: {
      deploymentstrategy: strategy,
      deploymentNames: [target.deploymentName],
      deploymentURIsLocal: [],
      deploymentURIsPublic: result.externalURLs,
      gitCommit: result.revision ?? '',
    },
    gitops,
  };
}

/**
 * Could not run or follow the deployment: errored/fail with what failed and where, and for a
 * `DeployError` why, as a stable word (`gitops.reason`: not-found, suspended, auth, ...).
 */
export function finishedFromError(
  error: DeployError | Error,
  tool?: ResolvedTarget['tool'],
): Record<string, unknown> {
  const data: Record<string, unknown> = { status: 'errored', result: 'fail', message: error.message };
  if (tool && error instanceof DeployError) data.gitops = { tool, target: error.target, reason: error.kind };
  return data;
}

/**
 * The strategy Keptn's release task reads: what the shipyard set (`data.<task>.deploymentstrategy`
 * or `data.deployment.deploymentstrategy`), else `direct` like helm-service.
 */
export function deploymentStrategy(data: Record<string, unknown>, task: string): string {
  for (const key of [task, 'deployment']) {
    const block = data[key];
    if (block && typeof block === 'object') {
      const strategy = (block as Record<string, unknown>).deploymentstrategy;
      if (typeof strategy === 'string' && strategy !== '') return strategy;
    }
  }
  return 'direct';
}
