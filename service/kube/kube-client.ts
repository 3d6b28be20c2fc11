import { retryWithBackoff, type Logger, type BackoffOptions, type CallLimits } from '../../lib/index.js';
import type { ServiceMetrics } from '../metrics.js';
import {
  resourceName,
  type KubeApi,
  type ObjectList,
  type ResourceRef,
  type WatchEvent,
  type WatchParams,
} from './kube-api.js';
import { KubeApiError, toKubeApiError, type KubeRequestContext } from './kube-errors.js';

export type { ResourceRef } from './kube-api.js';

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface KubeClientOptions {
  kube: KubeApi;
  logger: Logger;
  metrics?: ServiceMetrics;
  /** Label for the metrics (`apiRequests{tool}`, `apiRetries{tool}`). */
  tool?: 'flux' | 'kube';
  retry?: Partial<BackoffOptions>;
  /** Per-request timeout (default: the KubeApi's). */
  requestTimeoutMs?: number;
  clock?: Clock;
}

/** A call's limits (the deadline defaults to now + 30 s), and whether a conflict is retried. */
export interface KubeCallOptions extends CallLimits {
  /** Also retry 409 Conflict (for patches that are safe to repeat). */
  retryOnConflict?: boolean;
}

/**
 * The Kubernetes calls of the deployers and the state stores (get, list, create, replace, merge-patch,
 * delete, watch), with request
 * counting and retries of transient failures with capped exponential backoff until a deadline.
 */
export class KubeClient {
  readonly api: KubeApi;
  private readonly logger: Logger;
  private readonly metrics?: ServiceMetrics;
  private readonly tool: 'flux' | 'kube';
  readonly retry: BackoffOptions;
  private readonly requestTimeoutMs?: number;
  readonly clock: Clock;

  constructor(options: KubeClientOptions) {
    this.api = options.kube;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.tool = options.tool ?? 'kube';
    this.retry = { initialMs: 200, maxMs: 10_000, ...options.retry };
    this.requestTimeoutMs = options.requestTimeoutMs;
    this.clock = options.clock ?? systemClock;
  }

  get<T>(ref: ResourceRef, namespace: string, name: string, options: KubeCallOptions = {}): Promise<T> {
    return this.call({ verb: 'get', resource: resourceName(ref), namespace, name }, options, (o) =>
      this.api.get<T>(ref, namespace, name, o),
    );
  }

  list<T>(
    ref: ResourceRef,
    namespace: string,
    options: KubeCallOptions & { labelSelector?: string; fieldSelector?: string } = {},
  ): Promise<ObjectList<T>> {
    const { labelSelector, fieldSelector } = options;
    return this.call({ verb: 'list', resource: resourceName(ref), namespace }, options, (o) =>
      this.api.list<T>(ref, namespace, { ...o, labelSelector, fieldSelector }),
    );
  }

  /** RFC 7386 merge patch (`null` deletes a key). */
  patchMerge<T>(
    ref: ResourceRef,
    namespace: string,
    name: string,
    patch: unknown,
    options: KubeCallOptions = {},
  ): Promise<T> {
    return this.call({ verb: 'patch', resource: resourceName(ref), namespace, name }, options, (o) =>
      this.api.patchMerge<T>(ref, namespace, name, patch, o),
    );
  }

  /** Creates `body`; 409 (it exists) is thrown, never retried. */
  create<T>(ref: ResourceRef, namespace: string, body: unknown, options: KubeCallOptions = {}): Promise<T> {
    return this.call({ verb: 'create', resource: resourceName(ref), namespace }, options, (o) =>
      this.api.create<T>(ref, namespace, body, o),
    );
  }

  /** PUT of `body`: 409 when its resourceVersion is no longer current. */
  replace<T>(
    ref: ResourceRef,
    namespace: string,
    name: string,
    body: unknown,
    options: KubeCallOptions = {},
  ): Promise<T> {
    return this.call({ verb: 'update', resource: resourceName(ref), namespace, name }, options, (o) =>
      this.api.replace<T>(ref, namespace, name, body, o),
    );
  }

  delete(ref: ResourceRef, namespace: string, name: string, options: KubeCallOptions = {}): Promise<void> {
    return this.call({ verb: 'delete', resource: resourceName(ref), namespace, name }, options, (o) =>
      this.api.delete(ref, namespace, name, o),
    );
  }

  /** One watch connection (see KubeApi.watch), counted as a request. */
  watch<T>(
    ref: ResourceRef,
    namespace: string,
    params: WatchParams,
    signal?: AbortSignal,
  ): AsyncGenerator<WatchEvent<T>> {
    this.metrics?.apiRequests.inc({ tool: this.tool });
    return this.api.watch<T>(ref, namespace, params, signal);
  }

  private async call<T>(
    request: KubeRequestContext,
    options: KubeCallOptions,
    send: (o: { signal?: AbortSignal; timeoutMs?: number }) => Promise<T>,
  ): Promise<T> {
    const retryable = (error: KubeApiError) =>
      error.transient || (options.retryOnConflict === true && error.kind === 'conflict');
    return retryWithBackoff(
      async () => {
        options.signal?.throwIfAborted();
        this.metrics?.apiRequests.inc({ tool: this.tool });
        try {
          return await send({ signal: options.signal, timeoutMs: this.requestTimeoutMs });
        } catch (err) {
          const error = toKubeApiError(err, request);
          // Cancelled: a call that would be retried ends with the signal's reason.
          if (options.signal?.aborted && retryable(error)) throw options.signal.reason;
          throw error;
        }
      },
      {
        ...this.retry,
        signal: options.signal,
        deadline: options.deadline ?? this.clock.now() + 30_000,
        now: () => this.clock.now(),
        isTransient: (err) => err instanceof KubeApiError && retryable(err),
        onRetry: (err, attempt, delayMs) => {
          const error = err as KubeApiError;
          this.metrics?.apiRetries.inc({ tool: this.tool, reason: error.kind });
          this.logger.warn('retrying Kubernetes API call', {
            verb: request.verb,
            resource: request.resource,
            namespace: request.namespace,
            name: request.name,
            reason: error.kind,
            status: error.status,
            attempt,
            delayMs,
          });
        },
      },
    );
  }
}
