import { RemoteCallError } from '../../../lib/index.js';

/** Why a transient call to the Argo CD API failed (the label of its retries in logs and metrics). */
export const RETRY_REASONS = { serverError: '5xx', timeout: 'timeout', reset: 'reset' } as const;
export type RetryReason = (typeof RETRY_REASONS)[keyof typeof RETRY_REASONS];

/** gRPC codes Argo CD puts in error bodies (grpc-gateway error bodies, `{code, message}`). */
export const GRPC_CODES = {
  invalidArgument: 3,
  notFound: 5,
  permissionDenied: 7,
  failedPrecondition: 9,
  unavailable: 14,
  unauthenticated: 16,
} as const;

export interface ArgoApiErrorOptions {
  instance: string;
  /** What was being done, e.g. `sync of application 'carts-dev'`. */
  action: string;
  application?: string;
  /** HTTP status; absent when no answer arrived. */
  status?: number;
  grpcCode?: number;
  /** The server's error text (`message` of the error body). */
  serverMessage: string;
  /** No answer came within the request timeout (rather than a failed connection). */
  timedOut?: boolean;
  /** Keeps the verdict of a wrapped ArgoApiError (a failed login that failed this call). */
  transient?: boolean;
  cause?: unknown;
}

/**
 * A failed Argo CD API call: transient or not by the SDK's one rule. The message names the instance
 * and the object, never a credential.
 */
export class ArgoApiError extends RemoteCallError {
  readonly instance: string;
  readonly application?: string;
  readonly grpcCode?: number;
  readonly serverMessage: string;
  private readonly timedOut: boolean;

  constructor(options: ArgoApiErrorOptions) {
    const answer = options.status ? `${options.status} ${options.serverMessage}` : options.serverMessage;
    super('Argo CD', `Argo CD instance '${options.instance}': ${options.action} failed: ${answer}`, {
      status: options.status,
      cause: options.cause,
      transient: options.transient,
    });
    this.name = 'ArgoApiError';
    this.instance = options.instance;
    this.application = options.application;
    this.grpcCode = options.grpcCode;
    this.serverMessage = options.serverMessage;
    this.timedOut = options.timedOut ?? false;
  }

  /** Set for a transient failure: why it is retried. */
  get retryReason(): RetryReason | undefined {
    if (!this.transient) return undefined;
    if (this.status === undefined) return this.timedOut ? RETRY_REASONS.timeout : RETRY_REASONS.reset;
    return this.status >= 500 ? RETRY_REASONS.serverError : RETRY_REASONS.timeout;
  }
}
