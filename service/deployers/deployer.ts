import type { ResolvedTarget, Scope } from '../config/gitops-config.js';

/**
 * What a deployer needs to know about the Keptn task it serves. It is also the durable record of a
 * delivery (the Flux marker annotation, the Argo CD record ConfigMap): everything needed to build
 * the `.finished` without the original event, so another instance can finish it after a restart.
 */
export interface DeliveryRecord extends Scope {
  /** Type of the `.triggered` event, e.g. `sh.keptn.event.deliver.triggered`. */
  type: string;
  shkeptncontext: string;
  /** Id of the `.triggered` event; the `.finished` carries it as `triggeredid`. */
  triggeredid: string;
  labels: Record<string, string>;
  gitcommitid?: string;
  /** Revision requested through `data.gitops.revision` (only when scoped to this stage). */
  requestedRevision?: string;
  /** Reconcile token (Flux `requestedAt`) or sync marker, set by the deployer. */
  token?: string;
  /** ISO time the delivery started. */
  startedAt: string;
  /** Wall-clock deadline (epoch ms) after which the delivery is a timeout. */
  deadline: number;
}

export interface DeployRequest<T extends ResolvedTarget = ResolvedTarget> {
  target: T;
  delivery: DeliveryRecord;
  /** Aborted when the service shuts down; the deployer stops waiting and throws. */
  signal: AbortSignal;
}

/** How a deployment ended that the tool itself reports (the status of `.finished` is `succeeded`). */
export interface DeployResult {
  result: 'pass' | 'fail';
  /** What was deployed where, or what failed; never a secret. */
  message: string;
  /** `<Kind>/<namespace>/<name>`, e.g. `Kustomization/flux-system/podinfo`. */
  target: string;
  tool: 'argocd' | 'flux';
  instance?: string;
  revision?: string;
  images: string[];
  externalURLs: string[];
  startedAt: string;
  finishedAt: string;
}

export const DEPLOY_ERROR_KINDS = ['not-found', 'suspended', 'auth', 'forbidden', 'refused', 'unreachable', 'timeout', 'invalid'] as const;
export type DeployErrorKind = (typeof DEPLOY_ERROR_KINDS)[number];

/**
 * The deployment could not be run or followed (the `.finished` is `errored`/`fail`). `transient`
 * errors are retried with backoff by the deployer until the deadline; what reaches the caller is
 * final. The message names the object and what happened, never a token.
 */
export class DeployError extends Error {
  constructor(
    readonly kind: DeployErrorKind,
    message: string,
    readonly target: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DeployError';
  }
}

/** One implementation per GitOps tool (`FluxDeployer`, `ArgoCdDeployer`). */
export interface Deployer<T extends ResolvedTarget = ResolvedTarget> {
  /** Triggers the tool and follows it to a result. */
  deploy(request: DeployRequest<T>): Promise<DeployResult>;
  /**
   * Follows a delivery another instance already triggered (its record has the token), without
   * triggering again: used after a restart to finish what a dead instance started.
   */
  resume(request: DeployRequest<T>): Promise<DeployResult>;
}
