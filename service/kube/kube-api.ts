import type { RequestOptions as HttpsRequestOptions } from 'node:https';
import { Agent, ProxyAgent, request, type Dispatcher } from 'undici';
import type { KubeConfig } from './kube-config.js';
import { KubeApiError, toKubeApiError, type KubeRequestContext } from './kube-errors.js';
import { readLines } from '../util/lines.js';

/** Group, version and plural of a resource (group `''` for the core API), plus its kind for messages. */
export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

export const CONFIGMAPS: ResourceRef = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap' };
export const LEASES: ResourceRef = {
  group: 'coordination.k8s.io',
  version: 'v1',
  plural: 'leases',
  kind: 'Lease',
};
export const SELF_SUBJECT_ACCESS_REVIEWS: ResourceRef = {
  group: 'authorization.k8s.io',
  version: 'v1',
  plural: 'selfsubjectaccessreviews',
  kind: 'SelfSubjectAccessReview',
};

/**
 * `<plural>.<group>` as the API server names a resource, e.g. `kustomizations.kustomize.toolkit.fluxcd.io`.
 */
export function resourceName(ref: ResourceRef): string {
  return ref.group ? `${ref.plural}.${ref.group}` : ref.plural;
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Limit of the call; default the client's (15 s). */
  timeoutMs?: number;
}

export interface ListOptions extends RequestOptions {
  labelSelector?: string;
  fieldSelector?: string;
}

export interface ObjectList<T> {
  items: T[];
  resourceVersion: string;
}

export interface WatchParams {
  resourceVersion?: string;
  timeoutSeconds?: number;
  fieldSelector?: string;
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface KubeApiOptions {
  /** Default limit of one call (not of a watch); default 15 s. */
  requestTimeoutMs?: number;
  /**
   * Most connections open at once for calls (watches have their own); more calls wait for one. Default 64.
   */
  connections?: number;
}

const MERGE_PATCH = 'application/merge-patch+json';

/**
 * The connection pools, made once from the TLS settings (and proxy) client-node derives from the kubeconfig.
 */
interface Transport {
  calls: Dispatcher;
  /**
   * Watches hold their connection for minutes: in the bounded pool, enough of them would starve every call.
   */
  watches: Dispatcher;
}

/**
 * The Kubernetes REST calls the service makes (get, list, create, replace, merge-patch, delete,
 * watch) on any namespaced resource. Configuration, credentials and TLS are @kubernetes/client-node's
 * (its KubeConfig and authenticators: token, token file, client certificate, exec plugin, OIDC);
 * this layer adds what the service's hot path needs and the library's generated clients do not
 * give it: a bounded pool of keep-alive connections for calls (one connection per watch), the
 * merge-patch content type for custom resources, and one error vocabulary. Every failure is
 * thrown as a KubeApiError naming the verb and object; the message never holds credentials.
 */
export class KubeApi {
  readonly config: KubeConfig;
  /** The API server URL of the current context. */
  readonly server: string;
  private readonly requestTimeoutMs: number;
  private readonly connections: number;
  private transport?: Transport;
  /** The headers being computed: concurrent requests share one look-up (one exec plugin run). */
  private applying?: Promise<Record<string, string>>;

  constructor(config: KubeConfig, options: KubeApiOptions = {}) {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('the Kubernetes configuration has no current cluster');
    this.config = config;
    this.server = cluster.server.replace(/\/+$/, '');
    this.requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
    this.connections = options.connections ?? 64;
  }

  get<T>(ref: ResourceRef, namespace: string, name: string, options?: RequestOptions): Promise<T> {
    return this.send<T>('GET', { verb: 'get', ref, namespace, name }, undefined, options);
  }

  async list<T>(ref: ResourceRef, namespace: string, options: ListOptions = {}): Promise<ObjectList<T>> {
    const query = { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector };
    const body = await this.send<{ items?: T[]; metadata?: { resourceVersion?: string } }>(
      'GET',
      { verb: 'list', ref, namespace, query },
      undefined,
      options,
    );
    return { items: body.items ?? [], resourceVersion: body.metadata?.resourceVersion ?? '' };
  }

  /** Creates `body`; `namespace` undefined for cluster-scoped resources (access reviews). */
  create<T>(
    ref: ResourceRef,
    namespace: string | undefined,
    body: unknown,
    options?: RequestOptions,
  ): Promise<T> {
    return this.send<T>('POST', { verb: 'create', ref, namespace }, body, options);
  }

  /** PUT: fails with 409 when `body.metadata.resourceVersion` is no longer current. */
  replace<T>(
    ref: ResourceRef,
    namespace: string,
    name: string,
    body: unknown,
    options?: RequestOptions,
  ): Promise<T> {
    return this.send<T>('PUT', { verb: 'update', ref, namespace, name }, body, options);
  }

  /** RFC 7386 merge patch (`null` deletes a key), which the API server accepts on custom resources too. */
  patchMerge<T>(
    ref: ResourceRef,
    namespace: string,
    name: string,
    patch: unknown,
    options?: RequestOptions,
  ): Promise<T> {
    return this.send<T>('PATCH', { verb: 'patch', ref, namespace, name }, patch, options, MERGE_PATCH);
  }

  /** The resources an API group version serves (`GET /apis/<group>/<version>`), by plural name. */
  async servedResources(group: string, version: string, options?: RequestOptions): Promise<string[]> {
    const ref: ResourceRef = { group, version, plural: '', kind: '' };
    const body = await this.send<{ resources?: { name?: string }[] }>(
      'GET',
      { verb: 'get', ref, discovery: true },
      undefined,
      options,
    );
    return (body?.resources ?? []).flatMap((r) => (r.name ? [r.name] : []));
  }

  async delete(ref: ResourceRef, namespace: string, name: string, options?: RequestOptions): Promise<void> {
    await this.send('DELETE', { verb: 'delete', ref, namespace, name }, undefined, options);
  }

  /**
   * One watch connection from `resourceVersion`, as an async stream of events; it ends when the
   * server closes it and throws a KubeApiError when it fails. An `ERROR` event (e.g. 410 Gone) is
   * yielded as is.
   */
  async *watch<T>(
    ref: ResourceRef,
    namespace: string,
    params: WatchParams,
    signal?: AbortSignal,
  ): AsyncGenerator<WatchEvent<T>> {
    const timeoutSeconds = params.timeoutSeconds ?? 300;
    const target: Target = {
      verb: 'watch',
      ref,
      namespace,
      query: {
        watch: 'true',
        allowWatchBookmarks: 'true',
        resourceVersion: params.resourceVersion,
        timeoutSeconds: String(timeoutSeconds),
        fieldSelector: params.fieldSelector,
      },
    };
    const context = contextOf(target);
    let response: Dispatcher.ResponseData;
    try {
      // The server ends the watch after timeoutSeconds; a connection silent for longer is dead.
      response = await this.open(
        'GET',
        target,
        undefined,
        { signal, timeoutMs: this.requestTimeoutMs },
        undefined,
        timeoutSeconds * 1000 + 30_000,
        'watches',
      );
    } catch (err) {
      throw toKubeApiError(err, context);
    }
    if (response.statusCode >= 300)
      throw toKubeApiError(
        { statusCode: response.statusCode, body: await response.body.text().catch(() => '') },
        context,
      );
    try {
      for await (const line of readLines(response.body, 'line'))
        if (line.trim()) yield JSON.parse(line) as WatchEvent<T>;
    } catch (err) {
      if (signal?.aborted) return;
      throw toKubeApiError(err, context);
    } finally {
      // Closes the connection when the consumer stops early; the abort this causes is expected.
      response.body.on('error', () => undefined);
      response.body.destroy();
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.transport?.calls.close(), this.transport?.watches.destroy()]);
  }

  private async send<T>(
    method: Dispatcher.HttpMethod,
    target: Target,
    body: unknown,
    options: RequestOptions = {},
    contentType?: string,
  ): Promise<T> {
    const context = contextOf(target);
    let text: string;
    let status: number;
    try {
      const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
      const response = await this.open(method, target, body, options, contentType, timeoutMs);
      status = response.statusCode;
      text = await response.body.text();
    } catch (err) {
      throw toKubeApiError(err, context);
    }
    if (status >= 300) throw toKubeApiError({ statusCode: status, body: text }, context);
    try {
      return (text ? JSON.parse(text) : undefined) as T;
    } catch {
      throw toKubeApiError(
        new Error(`the API server answered ${status} with a body that is not JSON`),
        context,
      );
    }
  }

  private async open(
    method: Dispatcher.HttpMethod,
    target: Target,
    body: unknown,
    options: RequestOptions,
    contentType: string | undefined,
    bodyTimeoutMs: number,
    pool: keyof Transport = 'calls',
  ): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...(await this.credentials(target)),
    };
    if (body !== undefined) headers['content-type'] = contentType ?? 'application/json';
    return request(this.server + pathOf(target), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: options.signal,
      dispatcher: this.transport![pool],
      headersTimeout: options.timeoutMs ?? this.requestTimeoutMs,
      bodyTimeout: bodyTimeoutMs,
    });
  }

  /**
   * The Authorization (and Impersonate-User) headers client-node's authenticators give for the
   * current user, each from its own cache (a token file re-read after a minute, an exec credential
   * until it expires). A token file or exec plugin that fails is said as such, not as an
   * unreachable server.
   */
  private async credentials(target: Target): Promise<Record<string, string>> {
    this.applying ??= this.applyKubeConfig().finally(() => (this.applying = undefined));
    try {
      return await this.applying;
    } catch (err) {
      throw new KubeApiError(
        'unauthorized',
        contextOf(target),
        undefined,
        `cannot obtain credentials: ${(err as Error).message.trim()}`,
        { cause: err, transient: false },
      );
    }
  }

  private async applyKubeConfig(): Promise<Record<string, string>> {
    const applied: HttpsRequestOptions = {};
    await this.config.applyToHTTPSOptions(applied);
    this.transport ??= this.createTransport(applied);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(applied.headers ?? {}))
      if (value !== undefined) headers[name.toLowerCase()] = String(value);
    if (applied.auth) headers.authorization = `Basic ${Buffer.from(applied.auth).toString('base64')}`;
    return headers;
  }

  private createTransport(tls: HttpsRequestOptions): Transport {
    const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername } = tls;
    const plan = this.config.createDispatcherOptions(this.config.getCurrentCluster(), {
      ca,
      cert,
      key,
      pfx,
      passphrase,
      rejectUnauthorized,
      servername,
    });
    switch (plan.type) {
      case 'none':
        return { calls: new Agent({ connections: this.connections }), watches: new Agent() };
      case 'agent':
        return {
          calls: new Agent({ connections: this.connections, connect: plan.connect }),
          watches: new Agent({ connect: plan.connect }),
        };
      case 'proxy': {
        const proxy = { uri: plan.uri, requestTls: plan.requestTls, connect: plan.connect };
        return {
          calls: new ProxyAgent({ ...proxy, connections: this.connections }),
          watches: new ProxyAgent(proxy),
        };
      }
      case 'socks':
        throw new Error(
          `the cluster's proxy-url ${plan.uri} is a SOCKS proxy, which this service does not support; use an HTTP(S) proxy`,
        );
    }
  }
}

interface Target {
  verb: string;
  ref: ResourceRef;
  namespace?: string;
  name?: string;
  query?: Record<string, string | undefined>;
  /** The group version's discovery document rather than a resource. */
  discovery?: boolean;
}

function pathOf(target: Target): string {
  const { ref, namespace, name, query } = target;
  let path = ref.group ? `/apis/${ref.group}/${ref.version}` : `/api/${ref.version}`;
  if (target.discovery) return path;
  if (namespace !== undefined) path += `/namespaces/${encodeURIComponent(namespace)}`;
  path += `/${ref.plural}`;
  if (name !== undefined) path += `/${encodeURIComponent(name)}`;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') params.set(k, v);
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}

function contextOf(target: Target): KubeRequestContext {
  if (target.discovery)
    return { verb: target.verb, resource: `API group ${target.ref.group}/${target.ref.version}` };
  return {
    verb: target.verb,
    resource: resourceName(target.ref),
    namespace: target.namespace,
    name: target.name,
  };
}
