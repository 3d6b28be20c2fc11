import type { ResolvedTarget } from '../config/gitops-config.js';
import type { DeliveryRecord } from '../state/delivery-record.js';

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

export const DEPLOY_ERROR_KINDS = [
  'not-found',
  'suspended',
  'auth',
  'forbidden',
  'refused',
  'unreachable',
  'timeout',
  'invalid',
] as const;
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
