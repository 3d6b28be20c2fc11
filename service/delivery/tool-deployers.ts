import type { ResolvedArgoTarget, ResolvedFluxTarget, ResolvedTarget } from '../config/gitops-config.js';
import type { Deployer, DeployRequest } from '../deployers/deployer.js';

/**
 * A deployer as the delivery handler uses it: deploy/resume, plus `settle`, run once the
 * `.finished` is flushed, which drops the durable record (Flux marker, Argo CD record).
 */
export interface ToolDeployer<T extends ResolvedTarget = ResolvedTarget> extends Deployer<T> {
  settle(request: DeployRequest<T>): Promise<void>;
}

export interface ToolDeployers {
  argocd?: ToolDeployer<ResolvedArgoTarget>;
  flux?: ToolDeployer<ResolvedFluxTarget>;
}

export function deployerFor(deployers: ToolDeployers, target: ResolvedTarget): ToolDeployer | undefined {
  return (target.tool === 'argocd' ? deployers.argocd : deployers.flux) as ToolDeployer | undefined;
}

/** Why a tool has no deployer, for the `.finished` message. */
export const MISSING_DEPLOYER_HINT = {
  argocd:
    'no Argo CD instance is configured (set ARGOCD_SERVER and ARGOCD_AUTH_TOKEN, or argocd.instances in the targets file)',
  flux: 'no Kubernetes API is configured (run in a cluster or set KUBECONFIG)',
} as const;
