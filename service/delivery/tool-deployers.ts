import type { Logger } from '../../lib/index.js';
import type { ArgoInstance, ResolvedTarget } from '../config/gitops-config.js';
import { ArgoCdDeployer } from '../deployers/argocd/index.js';
import type { Deployer } from '../deployers/deployer.js';
import { FluxDeployer } from '../deployers/flux/index.js';
import type { DeliveryTool } from '../gitops/identity.js';
import type { KubeApi } from '../kube/kube-api.js';
import type { ServiceMetrics } from '../metrics.js';

export interface ToolDeployersOptions {
  /** The Kubernetes API that runs Flux; without it, Flux targets cannot be delivered. */
  kube?: KubeApi;
  /** The Argo CD instances of the current targets file. */
  instances: () => Map<string, ArgoInstance>;
  logger: Logger;
  metrics?: ServiceMetrics;
}

/** The deployer of each tool, as far as the service is configured for it. */
export class ToolDeployers {
  private readonly flux?: FluxDeployer;
  private readonly argocd: ArgoCdDeployer;

  constructor(private readonly options: ToolDeployersOptions) {
    const { kube, instances, logger, metrics } = options;
    if (kube) this.flux = new FluxDeployer({ kube, logger, metrics });
    this.argocd = new ArgoCdDeployer({ instances, logger, metrics });
  }

  /** The target's deployer; asked per delivery, as a reloaded targets file may add the first instance. */
  for(target: ResolvedTarget): Deployer | undefined {
    return this.of(target.tool);
  }

  /** Wakes the deliveries following `target` (a notification about it arrived). */
  nudge(tool: DeliveryTool, target: string, instance?: string): void {
    void this.of(tool)?.nudge(target, instance);
  }

  async close(): Promise<void> {
    await Promise.all([this.flux?.close(), this.argocd.close()]);
  }

  private of(tool: DeliveryTool): Deployer | undefined {
    if (tool === 'flux') return this.flux as Deployer | undefined;
    return this.options.instances().size > 0 ? (this.argocd as Deployer) : undefined;
  }
}

/** Why a tool has no deployer, for the `.finished` message. */
export const MISSING_DEPLOYER_HINT = {
  argocd:
    'no Argo CD instance is configured (set ARGOCD_SERVER and ARGOCD_AUTH_TOKEN, or argocd.instances in the targets file)',
  flux: 'no Kubernetes API is configured (run in a cluster or set KUBECONFIG)',
} as const;
