import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { CustomObjectsApi, KubeConfig, Observable, PatchStrategy, Watch, type RequestContext } from '@kubernetes/client-node';
import type { Logger } from '../../lib/index.js';
import type { ServiceMetrics } from '../metrics.js';
import { backoffDelay, delay, DEFAULT_BACKOFF, type BackoffOptions } from '../util/backoff.js';
import { KubeApiError, toKubeApiError, type KubeRequestContext } from './kube-errors.js';

/** Group, version and plural of a custom resource, plus its kind for messages. */
export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A kubeconfig file (tests, the demo, `KUBECONFIG`) or, without one, the in-cluster service account. */
export function loadKubeConfig(kubeconfigPath?: string): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
  else kc.loadFromCluster();
  reuseConnections(kc);
  return kc;
}

/** The agent options client-node derives from the kubeconfig; equal options mean an equal agent. */
const AGENT_KEYS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const;

/**
 * client-node 1.x builds a new http(s).Agent for every API call (`applySecurityAuthentication`), so
 * every request opens a new connection, and against a real API server does a new TLS handshake.
 * This keeps one keep-alive agent per distinct set of TLS options instead (rotated client
 * certificates give new options, hence a new agent). Proxy agents are left as they are.
 */
function reuseConnections(kc: KubeConfig): void {
  const apply = kc.applySecurityAuthentication.bind(kc);
  const agents = new Map<string, HttpAgent>();
  kc.applySecurityAuthentication = async (context: RequestContext) => {
    await apply(context);
    const fresh = context.getAgent();
    if (!fresh || (fresh.constructor !== HttpAgent && fresh.constructor !== HttpsAgent)) return;
    const options = (fresh as HttpAgent & { options: Record<string, unknown> }).options;
    const key = (fresh instanceof HttpsAgent ? 'https' : 'http') + JSON.stringify(AGENT_KEYS.map((k) => String(options[k] ?? '')));
    let agent = agents.get(key);
    if (!agent) {
      const picked = Object.fromEntries(AGENT_KEYS.filter((k) => options[k] !== undefined).map((k) => [k, options[k]]));
      agent = fresh instanceof HttpsAgent ? new HttpsAgent({ ...picked, keepAlive: true }) : new HttpAgent({ keepAlive: true });
      agents.set(key, agent);
    }
    context.setAgent(agent);
  };
}

export interface KubeClientOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  metrics?: ServiceMetrics;
  /** Label for the metrics (`apiRequests{tool}`, `apiRetries{tool}`). */
  tool?: 'flux' | 'kube';
  retry?: Partial<BackoffOptions>;
  /** Per-request timeout (default 15 s). */
  requestTimeoutMs?: number;
  clock?: Clock;
}

export interface CallOptions {
  /** Epoch ms after which transient failures are no longer retried (default now + 30 s). */
  deadline?: number;
  signal?: AbortSignal;
  /** Also retry 409 Conflict (for patches that are safe to repeat). */
  retryOnConflict?: boolean;
}

export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/**
 * The custom-objects calls the service needs (get, list, merge-patch, watch), with typed errors,
 * request counting and retries of transient failures with capped exponential backoff until a
 * deadline. Merge-patch is set explicitly: client-node defaults to JSON-patch.
 */
export class KubeClient {
  readonly kubeConfig: KubeConfig;
  private readonly api: CustomObjectsApi;
  private readonly logger: Logger;
  private readonly metrics?: ServiceMetrics;
  private readonly tool: 'flux' | 'kube';
  readonly retry: BackoffOptions;
  private readonly requestTimeoutMs: number;
  readonly clock: Clock;

  constructor(options: KubeClientOptions) {
    this.kubeConfig = options.kubeConfig;
    this.api = options.kubeConfig.makeApiClient(CustomObjectsApi);
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.tool = options.tool ?? 'kube';
    this.retry = { ...DEFAULT_BACKOFF, ...options.retry };
    this.requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
    this.clock = options.clock ?? systemClock;
  }

  get<T>(ref: ResourceRef, namespace: string, name: string, options: CallOptions = {}): Promise<T> {
    return this.call({ verb: 'get', resource: resourceName(ref), namespace, name }, options, (cfg) =>
      this.api.getNamespacedCustomObject({ group: ref.group, version: ref.version, namespace, plural: ref.plural, name }, cfg),
    );
  }

  async list<T>(ref: ResourceRef, namespace: string, options: CallOptions & { labelSelector?: string; fieldSelector?: string } = {}): Promise<ListResult<T>> {
    const body = (await this.call({ verb: 'list', resource: resourceName(ref), namespace }, options, (cfg) =>
      this.api.listNamespacedCustomObject(
        { group: ref.group, version: ref.version, namespace, plural: ref.plural, labelSelector: options.labelSelector, fieldSelector: options.fieldSelector },
        cfg,
      ),
    )) as { items?: T[]; metadata?: { resourceVersion?: string } };
    return { items: body.items ?? [], resourceVersion: body.metadata?.resourceVersion ?? '' };
  }

  /** RFC 7386 merge patch (`null` deletes a key). */
  patchMerge<T>(ref: ResourceRef, namespace: string, name: string, patch: unknown, options: CallOptions = {}): Promise<T> {
    return this.call({ verb: 'patch', resource: resourceName(ref), namespace, name }, options, (cfg) =>
      this.api.patchNamespacedCustomObject({ group: ref.group, version: ref.version, namespace, plural: ref.plural, name, body: patch }, cfg),
      PatchStrategy.MergePatch,
    );
  }

  /**
   * One watch connection from `resourceVersion`, as an async stream; it ends when the server closes
   * it and throws a KubeApiError when it fails. An `ERROR` event (e.g. 410 Gone) is yielded as is.
   */
  async *watch<T>(ref: ResourceRef, namespace: string, params: { resourceVersion?: string; timeoutSeconds?: number; fieldSelector?: string }, signal?: AbortSignal): AsyncGenerator<WatchEvent<T>> {
    const request: KubeRequestContext = { verb: 'watch', resource: resourceName(ref), namespace };
    const queue: WatchEvent<T>[] = [];
    let finished = false;
    let failure: unknown;
    let wake: (() => void) | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    this.metrics?.apiRequests.inc({ tool: this.tool });
    const path = `/apis/${ref.group}/${ref.version}/namespaces/${encodeURIComponent(namespace)}/${ref.plural}`;
    const controller = await new Watch(this.kubeConfig).watch(
      path,
      { resourceVersion: params.resourceVersion, timeoutSeconds: params.timeoutSeconds, fieldSelector: params.fieldSelector, allowWatchBookmarks: true },
      (type, object) => {
        queue.push({ type: type as WatchEvent<T>['type'], object: object as T });
        notify();
      },
      (err) => {
        finished = true;
        failure = err ?? undefined;
        notify();
      },
    );
    const onAbort = () => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) controller.abort();
    try {
      for (;;) {
        while (queue.length > 0) yield queue.shift()!;
        if (finished) break;
        await new Promise<void>((resolve) => (wake = resolve));
      }
      if (failure && !signal?.aborted && (failure as Error).name !== 'AbortError') throw toKubeApiError(failure, request);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      controller.abort();
    }
  }

  private async call<T>(request: KubeRequestContext, options: CallOptions, send: (cfg: object) => Promise<T>, contentType?: string): Promise<T> {
    const deadline = options.deadline ?? this.clock.now() + 30_000;
    for (let attempt = 0; ; attempt++) {
      options.signal?.throwIfAborted();
      this.metrics?.apiRequests.inc({ tool: this.tool });
      try {
        return await send(this.requestConfig(options.signal, contentType));
      } catch (err) {
        const error = toKubeApiError(err, request);
        const retryable = error.transient || (options.retryOnConflict === true && error.kind === 'conflict');
        const wait = backoffDelay(attempt, this.retry);
        if (!retryable || this.clock.now() + wait > deadline) throw error;
        this.metrics?.apiRetries.inc({ tool: this.tool, reason: error.kind });
        this.logger.warn('retrying Kubernetes API call', { verb: request.verb, resource: request.resource, namespace: request.namespace, name: request.name, reason: error.kind, status: error.status, attempt: attempt + 1, delayMs: wait });
        await delay(wait, options.signal);
      }
    }
  }

  private requestConfig(signal: AbortSignal | undefined, contentType: string | undefined): object {
    const timeout = AbortSignal.timeout(this.requestTimeoutMs);
    const requestSignal = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const middleware = {
      pre: (ctx: RequestContext) => {
        ctx.setSignal(requestSignal);
        if (contentType) ctx.setHeaderParam('Content-Type', contentType);
        return new Observable(Promise.resolve(ctx));
      },
      post: <R>(ctx: R) => new Observable(Promise.resolve(ctx)),
    };
    return { middleware: [middleware], middlewareMergeStrategy: 'append' };
  }
}

export function resourceName(ref: ResourceRef): string {
  return ref.group ? `${ref.plural}.${ref.group}` : ref.plural;
}

export { KubeApiError };
