import { readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { Agent, request, type Dispatcher } from 'undici';
import type { ArgoInstance } from '../../config/gitops-config.js';
import type { ServiceMetrics } from '../../metrics.js';
import { retryWithBackoff, type Logger, type BackoffOptions, type CallLimits } from '../../../lib/index.js';
import { readLines } from '../../util/lines.js';
import type { Application, ApplicationList, InfoEntry } from './application.js';
import { ArgoApiError, RETRY_REASONS } from './errors.js';

/** Argo CD's API is slower to recover than the Kubernetes API: start at 500 ms, cap at 15 s. */
export const ARGOCD_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 15_000 };

export interface ArgoCdClientOptions {
  instance: ArgoInstance;
  logger: Logger;
  metrics?: ServiceMetrics;
  /** Epoch ms now; default Date.now. */
  clock?: () => number;
  retry?: BackoffOptions;
  /** Limit of one (non-stream) request; default 30 s. */
  requestTimeoutMs?: number;
}

/** A call's limits (the deadline defaults to now + 60 s), and what may end its retries early. */
export interface ArgoCallOptions extends CallLimits {
  /**
   * Asked before each retry of a transient failure; false ends the retries (a sync whose lost answer may mean
   * it was applied).
   */
  retryIf?: (err: ArgoApiError) => Promise<boolean>;
}

/** Where an application lives: apps-in-any-namespace and RBAC scoping (query params). */
export interface AppScope {
  appNamespace?: string;
  project?: string;
}

export interface SyncRequest extends AppScope {
  revision?: string;
  prune?: boolean;
  syncOptions?: string[];
  infos?: InfoEntry[];
}

interface RequestSpec {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  action: string;
  application?: string;
}

/**
 * A small Argo CD REST client (argo-cd `server/application/application.proto`): token or session-login auth
 * (re-login once on 401), custom CA / insecure TLS, retries of transient failures with capped exponential
 * backoff.
 */
export class ArgoCdClient {
  readonly instance: ArgoInstance;
  private readonly logger: Logger;
  private readonly metrics?: ServiceMetrics;
  private readonly dispatcher: Agent;
  private readonly clock: () => number;
  /** Retry pacing (default ARGOCD_BACKOFF); the deployer's followers reconnect with it too. */
  readonly retry: BackoffOptions;
  private readonly requestTimeoutMs: number;
  private session?: Promise<string>;

  constructor(options: ArgoCdClientOptions) {
    this.instance = options.instance;
    this.logger = options.logger.child({ argocdInstance: options.instance.name });
    this.metrics = options.metrics;
    this.clock = options.clock ?? Date.now;
    this.retry = options.retry ?? ARGOCD_BACKOFF;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    const { caFile, insecure } = options.instance;
    this.dispatcher = new Agent({
      connect: caFile ? { ca: readFileSync(caFile, 'utf8') } : insecure ? { rejectUnauthorized: false } : {},
    });
  }

  /** Closes the instance's connections. */
  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  getApplication(name: string, scope: AppScope = {}, call: ArgoCallOptions = {}): Promise<Application> {
    const query = { appNamespace: scope.appNamespace, project: scope.project };
    return this.request(
      {
        method: 'GET',
        path: appPath(name),
        query,
        action: `get of application '${name}'`,
        application: name,
      },
      call,
    );
  }

  async listApplications(
    selector?: string,
    scope: { appNamespace?: string; projects?: string[] } = {},
    call: ArgoCallOptions = {},
  ): Promise<Application[]> {
    const query = { selector, appNamespace: scope.appNamespace, projects: scope.projects?.join(',') };
    const list = await this.request<ApplicationList>(
      { method: 'GET', path: '/api/v1/applications', query, action: 'list of applications' },
      call,
    );
    return list.items ?? [];
  }

  sync(name: string, request: SyncRequest, call: ArgoCallOptions = {}): Promise<Application> {
    const body: Record<string, unknown> = { name, prune: request.prune ?? false };
    if (request.revision) body.revision = request.revision;
    if (request.syncOptions?.length) body.syncOptions = { items: request.syncOptions };
    if (request.infos?.length) body.infos = request.infos;
    if (request.appNamespace) body.appNamespace = request.appNamespace;
    if (request.project) body.project = request.project;
    return this.request(
      {
        method: 'POST',
        path: `${appPath(name)}/sync`,
        body,
        action: `sync of application '${name}'`,
        application: name,
      },
      call,
    );
  }

  async terminateOperation(name: string, scope: AppScope = {}, call: ArgoCallOptions = {}): Promise<void> {
    const query = { appNamespace: scope.appNamespace, project: scope.project };
    await this.request(
      {
        method: 'DELETE',
        path: `${appPath(name)}/operation`,
        query,
        action: `termination of the operation of application '${name}'`,
        application: name,
      },
      call,
    );
  }

  /**
   * One watch connection (`GET /api/v1/stream/applications?name=`): yields the application on every
   * event, starting with the initial snapshot, and ends when the server closes the stream. Throws
   * `ArgoApiError` when it cannot be opened; reconnecting is the caller's choice.
   */
  async *watch(name: string, scope: AppScope, signal: AbortSignal): AsyncGenerator<Application> {
    const spec: RequestSpec = {
      method: 'GET',
      path: '/api/v1/stream/applications',
      query: { name, appNamespace: scope.appNamespace, projects: scope.project },
      action: `watch of application '${name}'`,
      application: name,
    };
    const response = await this.send(spec, signal, false);
    try {
      yield* readEvents(response.body, spec, this.instance.name);
    } finally {
      discard(response.body);
    }
  }

  private async request<T>(spec: RequestSpec, call: ArgoCallOptions): Promise<T> {
    return retryWithBackoff(
      async () => {
        const response = await this.send(spec, call.signal, true);
        const text = await response.body.text();
        return (text ? JSON.parse(text) : {}) as T;
      },
      {
        ...this.retry,
        signal: call.signal,
        deadline: call.deadline ?? this.clock() + 60_000,
        now: this.clock,
        isTransient: (err) => err instanceof ArgoApiError && err.transient,
        retryIf: call.retryIf && ((err) => call.retryIf!(err as ArgoApiError)),
        onRetry: (err, attempt, delayMs) => {
          const error = err as ArgoApiError;
          this.metrics?.apiRetries.inc({ tool: 'argocd', reason: error.retryReason! });
          this.logger.warn('retrying Argo CD API call', {
            action: spec.action,
            reason: error.retryReason,
            attempt,
            delayMs,
            error: error.message,
          });
        },
      },
    );
  }

  /** One HTTP exchange (plus one re-login on 401 for session auth); throws ArgoApiError when not 2xx. */
  private async send(
    spec: RequestSpec,
    signal: AbortSignal | undefined,
    limited: boolean,
    renewed = false,
  ): Promise<Dispatcher.ResponseData> {
    const token = await this.token(spec, signal);
    const sessionUsed = this.session;
    const response = await this.exchange(spec, token, signal, limited);
    if (isOk(response)) return response;
    if (response.statusCode === 401 && this.instance.auth.kind === 'login' && !renewed) {
      discard(response.body);
      this.logger.info('Argo CD session rejected, logging in again', { action: spec.action });
      // Concurrent requests may all see the 401: only the first one drops the session.
      if (this.session === sessionUsed) this.session = undefined;
      return this.send(spec, signal, limited, true);
    }
    throw await errorFromResponse(response, spec, this.instance.name);
  }

  /**
   * One HTTP request. `limited`: the answer must start, and keep coming, within the request
   * timeout; a watch stream is not limited (it is quiet while nothing changes).
   */
  private async exchange(
    spec: RequestSpec,
    token: string | undefined,
    signal: AbortSignal | undefined,
    limited: boolean,
  ): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    // argocd-server answers 415 to a non-GET request without an allowed content type, body or not
    // (--api-content-types).
    if (spec.method !== 'GET') headers['content-type'] = 'application/json';
    this.metrics?.apiRequests.inc({ tool: 'argocd' });
    try {
      return await request(this.url(spec), {
        method: spec.method,
        headers,
        body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
        signal,
        dispatcher: this.dispatcher,
        headersTimeout: limited ? this.requestTimeoutMs : 0,
        bodyTimeout: limited ? this.requestTimeoutMs : 0,
      });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const cause = describeCause(err);
      const timedOut = /UND_ERR_(HEADERS|BODY)_TIMEOUT/.test(cause);
      const detail = timedOut
        ? `no answer within ${this.requestTimeoutMs} ms`
        : `cannot reach ${this.instance.server}: ${cause}`;
      throw new ArgoApiError({
        instance: this.instance.name,
        action: spec.action,
        application: spec.application,
        serverMessage: detail,
        timedOut,
        cause: err,
      });
    }
  }

  private async token(spec: RequestSpec, signal: AbortSignal | undefined): Promise<string | undefined> {
    const auth = this.instance.auth;
    if (auth.kind === 'token') return auth.token.reveal();
    if (!this.session) {
      const pending = this.login(signal);
      this.session = pending;
      pending.catch(() => {
        if (this.session === pending) this.session = undefined;
      });
    }
    try {
      return await this.session;
    } catch (err) {
      if (err instanceof ArgoApiError) {
        throw new ArgoApiError({
          instance: this.instance.name,
          action: spec.action,
          application: spec.application,
          status: err.status,
          grpcCode: err.grpcCode,
          serverMessage: `login failed: ${err.serverMessage}`,
          timedOut: err.retryReason === RETRY_REASONS.timeout,
          transient: err.transient,
          cause: err,
        });
      }
      throw err;
    }
  }

  private async login(signal: AbortSignal | undefined): Promise<string> {
    const auth = this.instance.auth;
    if (auth.kind !== 'login') throw new Error('login without credentials');
    const spec: RequestSpec = {
      method: 'POST',
      path: '/api/v1/session',
      body: { username: auth.username.reveal(), password: auth.password.reveal() },
      action: 'login',
    };
    const response = await this.exchange(spec, undefined, signal, true);
    if (!isOk(response)) throw await errorFromResponse(response, spec, this.instance.name);
    const { token } = (await response.body.json()) as { token?: string };
    if (!token)
      throw new ArgoApiError({
        instance: this.instance.name,
        action: 'login',
        status: response.statusCode,
        serverMessage: 'the answer has no token',
      });
    return token;
  }

  private url(spec: RequestSpec): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(spec.query ?? {})) if (v !== undefined && v !== '') params.set(k, v);
    const qs = params.toString();
    return `${this.instance.server}${spec.path}${qs ? `?${qs}` : ''}`;
  }
}

function appPath(name: string): string {
  return `/api/v1/applications/${encodeURIComponent(name)}`;
}

/** Closes a body nobody will read; its abort is expected, not an error to report. */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

const isOk = (response: Dispatcher.ResponseData) => response.statusCode >= 200 && response.statusCode < 300;

async function errorFromResponse(
  response: Dispatcher.ResponseData,
  spec: RequestSpec,
  instance: string,
): Promise<ArgoApiError> {
  const status = response.statusCode;
  const text = await response.body.text().catch(() => '');
  let serverMessage = text.trim() || STATUS_CODES[status] || '';
  let grpcCode: number | undefined;
  try {
    const body = JSON.parse(text) as { message?: string; error?: string; code?: number };
    serverMessage = body.message || body.error || serverMessage;
    grpcCode = body.code;
  } catch {
    // not JSON: keep the text
  }
  return new ArgoApiError({
    instance,
    action: spec.action,
    application: spec.application,
    status,
    grpcCode,
    serverMessage: serverMessage.slice(0, 500),
  });
}

/**
 * Newline-delimited `{"result":{type,application}}` (or SSE `data:` frames); `{"error":…}` ends the stream.
 */
async function* readEvents(
  body: AsyncIterable<Uint8Array>,
  spec: RequestSpec,
  instance: string,
): AsyncGenerator<Application> {
  for await (const raw of readLines(body, 'drop')) {
    const line = raw.replace(/^data:\s*/, '').trim();
    if (!line || line.startsWith(':')) continue;
    const message = JSON.parse(line) as {
      result?: { application?: Application };
      error?: { http_code?: number; message?: string; grpc_code?: number };
    };
    if (message.error) {
      // A code of 0 is no answer.
      const status = message.error.http_code || undefined;
      throw new ArgoApiError({
        instance,
        action: spec.action,
        application: spec.application,
        status,
        grpcCode: message.error.grpc_code,
        serverMessage: message.error.message ?? 'stream error',
      });
    }
    if (message.result?.application) yield message.result.application;
  }
}

function describeCause(err: unknown): string {
  const e = err as
    { code?: string; message?: string; cause?: { code?: string; message?: string } } | undefined;
  return e?.code ?? e?.cause?.code ?? e?.message ?? String(err);
}
