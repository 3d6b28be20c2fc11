/** Why a call to the Argo CD API failed; `transient` ones are retried with backoff until the deadline. */
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
  /** Set for errors worth retrying. */
  retryReason?: RetryReason;
  cause?: unknown;
}

/** A failed Argo CD API call. The message names the instance and the object, never a credential. */
export class ArgoApiError extends Error {
  readonly instance: string;
  readonly application?: string;
  readonly status?: number;
  readonly grpcCode?: number;
  readonly serverMessage: string;
  readonly retryReason?: RetryReason;

  constructor(options: ArgoApiErrorOptions) {
    const answer = options.status ? `${options.status} ${options.serverMessage}` : options.serverMessage;
    super(`Argo CD instance '${options.instance}': ${options.action} failed: ${answer}`, {
      cause: options.cause,
    });
    this.name = 'ArgoApiError';
    this.instance = options.instance;
    this.application = options.application;
    this.status = options.status;
    this.grpcCode = options.grpcCode;
    this.serverMessage = options.serverMessage;
    this.retryReason = options.retryReason;
  }

  get transient(): boolean {
    return this.retryReason !== undefined;
  }
}

/** Which answers are transient: 5xx (but 501), 408 and 429. */
export function retryReasonForStatus(status: number): RetryReason | undefined {
  if (status >= 500 && status !== 501) return RETRY_REASONS.serverError;
  if (status === 408 || status === 429) return RETRY_REASONS.timeout;
  return undefined;
}
