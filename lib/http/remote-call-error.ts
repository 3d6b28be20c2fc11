import { isCertificateFailure } from './network-errors.js';

/**
 * The one rule for what is worth retrying, for every remote API the SDK and the service call. An
 * answer: 408, 429 and 5xx (but 501 Not Implemented) are transient; any other status (400, 401,
 * 403, 404, 409, 422 ...) will come back the same. No answer (reset, refused, timed out): transient,
 * unless the server's TLS certificate cannot be verified.
 */
export function isTransientFailure(failure: { status?: number; cause?: unknown }): boolean {
  const { status } = failure;
  if (status === undefined) return !isCertificateFailure(failure.cause);
  return status === 408 || status === 429 || (status >= 500 && status !== 501);
}

export interface RemoteCallErrorOptions {
  /** The HTTP status of the answer; absent when none arrived. */
  status?: number;
  cause?: unknown;
  /**
   * Set only for a failure the rule cannot judge from status and cause: one that is not the server's
   * answer (credentials that cannot be obtained), or a wrapper that keeps the verdict of its cause.
   */
  transient?: boolean;
}

/**
 * A failed call to a remote API: which system, the HTTP status if an answer came, and whether it is
 * transient (retried with backoff until a deadline) by `isTransientFailure`. Each client's error
 * (Kubernetes, Argo CD, Keptn API) is a subclass that adds what names the call in its API; the
 * message says what failed and where, never a credential.
 */
export class RemoteCallError extends Error {
  readonly system: string;
  readonly status?: number;
  readonly transient: boolean;

  constructor(system: string, message: string, options: RemoteCallErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RemoteCallError';
    this.system = system;
    this.status = options.status;
    this.transient = options.transient ?? isTransientFailure(options);
  }
}
