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

/**
 * What a follower concludes from one view of the followed object: wait for the next view, or the
 * outcome. Each tool adds what it reports alongside (Flux: the Ready message; Argo CD: the application).
 */
export type Verdict<Waiting extends object = object, Done extends object = object> =
  ({ state: 'waiting' } & Waiting) | ({ state: 'done'; result: 'pass' | 'fail'; revision?: string } & Done);

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
 * The deployment could not be run or followed (the `.finished` is `errored`/`fail`, `kind` in its
 * data and the failure metric). Final: the API calls under it already retried what was transient
 * (`RemoteCallError.transient`) until their deadline. The message names the object and what
 * happened, never a token.
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

/** How to go on with a delivery adopted from its record: follow what was triggered, or trigger it. */
export interface Recovery {
  mode: 'resume' | 'deploy';
  delivery: DeliveryRecord;
}

/**
 * One implementation per GitOps tool (`FluxDeployer`, `ArgoCdDeployer`); each owns its connections,
 * watches and followers, from construction to `close`.
 */
export interface Deployer<T extends ResolvedTarget = ResolvedTarget> {
  /** Triggers the tool and follows it to a result. */
  deploy(request: DeployRequest<T>): Promise<DeployResult>;
  /**
   * Follows a delivery another instance already triggered (its record has the token), without
   * triggering again: used after a restart to finish what a dead instance started.
   */
  resume(request: DeployRequest<T>): Promise<DeployResult>;
  /** Run once the `.finished` is flushed: drops what the tool keeps of the delivery (the Flux marker). */
  settle(request: DeployRequest<T>): Promise<void>;
  /** Whether an adopted delivery's tool was triggered (resume it) or not yet (deploy it). */
  recover(target: T, delivery: DeliveryRecord): Promise<Recovery>;
  /**
   * A notification about `target` arrived: re-read it and re-judge the deliveries following it.
   * Resolves once read; a failed read is only logged.
   */
  nudge(target: string, instance?: string): Promise<void>;
  /** Stops every watch and follower; running deliveries reject. */
  close(): Promise<void>;
}
