import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { validateApplication } from './application-schema.js';
import { SimulatedApplication, type ApplicationSeed, type ScriptOutcome } from './simulated-application.js';

export interface ArgoCdSimulatorStartOptions {
  port?: number;
  /** API tokens accepted as `Authorization: Bearer`. With neither tokens nor users, no auth is asked. */
  tokens?: string[];
  /** Accounts for `POST /api/v1/session`. */
  users?: { username: string; password: string }[];
  /** Default delay between state-machine steps; default 25 ms. */
  stepMs?: number;
  /** Validate every served Application against the CRD schema; default true. */
  validate?: boolean;
}

interface Stream {
  name?: string;
  appNamespace?: string;
  res: ServerResponse;
}

/** gRPC code → HTTP status, as grpc-gateway maps them. */
const GRPC_HTTP: Record<number, number> = { 3: 400, 5: 404, 7: 403, 9: 400, 13: 500, 14: 503, 16: 401 };

class ApiFailure extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly httpStatus = GRPC_HTTP[code] ?? 500,
  ) {
    super(message);
  }
}

/**
 * A simulated Argo CD API server on loopback (Argo CD's REST API, argo-cd
 * `server/application/application.proto`): session login, Get/List,
 * Sync with its refusals, TerminateOperation and the watch stream, over scripted applications.
 */
export class ArgoCdSimulator {
  /** Every request received, by `METHOD route`, for "requests per delivery". */
  readonly requests = new Map<string, number>();
  /** Sync requests that started an operation, by application. */
  readonly syncs = new Map<string, number>();
  /** Bodies of accepted sync requests, in order. */
  readonly syncBodies: Record<string, unknown>[] = [];
  /** Served Applications that did not validate against the CRD schema. */
  readonly schemaErrors: string[] = [];
  private readonly apps = new Map<string, SimulatedApplication>();
  private readonly streams = new Set<Stream>();
  private readonly sessions = new Map<string, { expired: boolean }>();
  private server?: Server;
  private options: ArgoCdSimulatorStartOptions = {};
  private failures: { count: number; status: number } = { count: 0, status: 503 };
  private lostSyncResponses: { count: number; status: number } = { count: 0, status: 500 };
  /** Run once, just before the next request of a route (as counted in `requests`) is handled. */
  private readonly beforeNextRequest = new Map<string, () => void>();
  private streamDisabled = false;

  get url(): string {
    const address = this.server?.address() as AddressInfo | null;
    if (!address) throw new Error('the Argo CD simulator is not running');
    return `http://127.0.0.1:${address.port}`;
  }

  get totalRequests(): number {
    let total = 0;
    for (const n of this.requests.values()) total += n;
    return total;
  }

  async start(options: ArgoCdSimulatorStartOptions = {}): Promise<this> {
    this.options = options;
    // Compiling the CRD schema takes seconds on a busy machine: now, not inside a client's first request.
    if (options.validate !== false) validateApplication({});
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err) =>
        sendError(res, err instanceof ApiFailure ? err : new ApiFailure(13, String(err))),
      );
    });
    await new Promise<void>((resolve) => this.server!.listen(options.port ?? 0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    for (const app of this.apps.values()) app.dispose();
    this.dropStreams();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  addApplication(seed: ApplicationSeed): SimulatedApplication {
    const app = new SimulatedApplication(seed, {
      stepMs: this.options.stepMs ?? 25,
      onChange: () => this.publish(app),
    });
    this.apps.set(app.name, app);
    return app;
  }

  application(name: string): SimulatedApplication {
    const app = this.apps.get(name);
    if (!app) throw new Error(`no simulated application '${name}'`);
    return app;
  }

  /** An operation that someone else started (auto-sync by default), ending after about `durationMs`. */
  startOperation(
    name: string,
    options: {
      revision?: string;
      durationMs?: number;
      pickUpMs?: number;
      username?: string;
      outcome?: ScriptOutcome;
    } = {},
  ): void {
    const initiatedBy = options.username ? { username: options.username } : { automated: true };
    this.application(name).startOperation({
      revision: options.revision,
      initiatedBy,
      outcome: options.outcome,
      stepMs: Math.max(1, Math.round((options.durationMs ?? 150) / 3)),
      pickUpMs: options.pickUpMs,
    });
  }

  /** Someone terminates the running operation (`argocd app terminate-op`). */
  terminateOperation(name: string): boolean {
    return this.application(name).terminate();
  }

  markHealthy(name: string): void {
    this.application(name).markHealthy();
  }

  setSyncWindow(name: string, active: boolean): void {
    this.application(name).syncWindowActive = active;
  }

  /** Closes every open watch stream (clients should reconnect). */
  dropStreams(): void {
    for (const stream of this.streams) stream.res.destroy();
    this.streams.clear();
  }

  /** Ends every open watch stream cleanly, as the server does at its timeout (clients should reconnect). */
  endStreams(): void {
    for (const stream of this.streams) stream.res.end();
    this.streams.clear();
  }

  /** Answers the watch endpoint with 501 from now on (clients should poll). */
  disableStreams(): void {
    this.streamDisabled = true;
  }

  /** The next `count` requests (other than login) answer `status` (default 503). */
  failNext(count: number, status = 503): void {
    this.failures = { count, status };
  }

  /**
   * The next `count` syncs are applied, but answered `status` (default 500) as if the response was lost on
   * the way.
   */
  loseSyncResponses(count = 1, status = 500): void {
    this.lostSyncResponses = { count, status };
  }

  /** Session tokens issued so far stop being accepted (401), as when they expire. */
  expireSessions(): void {
    for (const session of this.sessions.values()) session.expired = true;
  }

  /**
   * Runs `action` just before the next request of `route` (`'DELETE operation'`, as `requests` counts
   * them) is handled: the state a race would leave, e.g. an operation that ended as it was terminated.
   */
  beforeNext(route: string, action: () => void): void {
    this.beforeNextRequest.set(route, action);
  }

  syncCount(name: string): number {
    return this.syncs.get(name) ?? 0;
  }

  private count(route: string): void {
    this.requests.set(route, (this.requests.get(route) ?? 0) + 1);
    const action = this.beforeNextRequest.get(route);
    this.beforeNextRequest.delete(route);
    action?.();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    // argocd-server's --api-content-types (default application/json) applies to every method but GET,
    // compared with the whole header: `application/json; charset=utf-8` is refused too
    // (server.go enforceContentTypes).
    if (method !== 'GET' && (req.headers['content-type'] ?? '').toLowerCase() !== 'application/json') {
      this.count(`${method} unsupported media type`);
      res.writeHead(415, { 'content-type': 'text/plain; charset=utf-8' });
      return void res.end('Invalid content type\n');
    }
    const body = method === 'POST' ? await readJson(req) : {};
    if (method === 'POST' && url.pathname === '/api/v1/session') {
      this.count('POST session');
      return sendJson(res, 200, this.login(body));
    }
    this.authenticate(req);
    if (this.failures.count > 0) {
      this.failures.count--;
      this.count(`${method} failure`);
      return sendError(
        res,
        new ApiFailure(14, 'connection to the repo server is unavailable', this.failures.status),
      );
    }
    const appRoute = /^\/api\/v1\/applications\/([^/]+)(\/sync|\/operation)?$/.exec(url.pathname);
    if (method === 'GET' && url.pathname === '/api/v1/stream/applications') return this.watch(url, res);
    if (method === 'GET' && url.pathname === '/api/v1/applications') return this.list(url, res);
    if (appRoute) {
      const name = decodeURIComponent(appRoute[1]!);
      const project = url.searchParams.get('project') ?? (body.project as string | undefined);
      const appNamespace = url.searchParams.get('appNamespace') ?? (body.appNamespace as string | undefined);
      if (method === 'GET' && !appRoute[2]) {
        this.count('GET application');
        return sendJson(res, 200, this.serve(this.find(name, project, appNamespace)));
      }
      if (method === 'POST' && appRoute[2] === '/sync') {
        this.count('POST sync');
        const synced = this.sync(this.find(name, project, appNamespace), body);
        if (this.lostSyncResponses.count > 0) {
          this.lostSyncResponses.count--;
          return sendError(res, new ApiFailure(14, 'transport is closing', this.lostSyncResponses.status));
        }
        return sendJson(res, 200, synced);
      }
      if (method === 'DELETE' && appRoute[2] === '/operation') {
        this.count('DELETE operation');
        const app = this.find(name, project, appNamespace);
        if (!app.terminate())
          throw new ApiFailure(3, 'Unable to terminate operation. No operation is in progress');
        return sendJson(res, 200, {});
      }
    }
    this.count(`${method} unknown`);
    throw new ApiFailure(5, `Not Found: ${method} ${url.pathname}`, 404);
  }

  private login(body: Record<string, unknown>): { token: string } {
    const user = (this.options.users ?? []).find(
      (u) => u.username === body.username && u.password === body.password,
    );
    if (!body.username || !body.password) throw new ApiFailure(16, 'no credentials supplied');
    if (!user) throw new ApiFailure(16, 'Invalid username or password');
    const token = randomBytes(16).toString('hex');
    this.sessions.set(token, { expired: false });
    return { token };
  }

  private authenticate(req: IncomingMessage): void {
    if (!this.options.tokens?.length && !this.options.users?.length) return;
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token) throw new ApiFailure(16, 'no session information');
    if (this.options.tokens?.includes(token)) return;
    const session = this.sessions.get(token);
    if (!session) throw new ApiFailure(16, 'invalid session: token signature is invalid');
    if (session.expired)
      throw new ApiFailure(16, 'invalid session: token has invalid claims: token is expired');
  }

  /** Like `getAppEnforceRBAC`: a missing app is "permission denied" unless a project was named. */
  private find(
    name: string,
    project: string | null | undefined,
    appNamespace: string | null | undefined,
  ): SimulatedApplication {
    const app = this.apps.get(name);
    const visible =
      app && (!appNamespace || app.namespace === appNamespace) && (!project || app.project === project);
    if (visible) return app;
    if (project) throw new ApiFailure(5, `applications.argoproj.io "${name}" not found`);
    throw new ApiFailure(7, 'permission denied');
  }

  private sync(app: SimulatedApplication, body: Record<string, unknown>): Record<string, unknown> {
    if (app.syncWindowActive) throw new ApiFailure(7, 'cannot sync: blocked by sync window');
    const revision = typeof body.revision === 'string' && body.revision ? body.revision : undefined;
    if (revision && app.automated && revision !== app.targetRevision) {
      throw new ApiFailure(9, `Cannot sync to ${revision}: auto-sync currently set to ${app.targetRevision}`);
    }
    if (app.operationRunning) throw new ApiFailure(9, 'another operation is already in progress');
    const syncOptions = (body.syncOptions as { items?: string[] } | undefined)?.items;
    app.startOperation({
      revision,
      prune: body.prune === true,
      syncOptions,
      info: body.infos as { name: string; value: string }[] | undefined,
      initiatedBy: { username: 'keptn' },
    });
    this.syncs.set(app.name, this.syncCount(app.name) + 1);
    this.syncBodies.push(body);
    return this.serve(app);
  }

  private list(url: URL, res: ServerResponse): void {
    this.count('GET applications');
    const selector = parseSelector(url.searchParams.get('selector'));
    const items = [...this.apps.values()]
      .filter((a) => Object.entries(selector).every(([k, v]) => a.app.metadata.labels?.[k] === v))
      .map((a) => this.serve(a));
    sendJson(res, 200, { metadata: { resourceVersion: '1' }, items });
  }

  private watch(url: URL, res: ServerResponse): void {
    this.count('GET stream');
    if (this.streamDisabled) throw new ApiFailure(12, 'streaming is not available here', 501);
    const stream: Stream = {
      name: url.searchParams.get('name') ?? undefined,
      appNamespace: url.searchParams.get('appNamespace') ?? undefined,
      res,
    };
    res.writeHead(200, { 'content-type': 'application/json' });
    this.streams.add(stream);
    res.on('close', () => this.streams.delete(stream));
    for (const app of this.apps.values()) {
      if (matches(stream, app)) writeEvent(res, 'ADDED', this.serve(app));
    }
  }

  private publish(app: SimulatedApplication): void {
    if (!this.streams.size) return;
    const served = this.serve(app);
    for (const stream of this.streams) if (matches(stream, app)) writeEvent(stream.res, 'MODIFIED', served);
  }

  private serve(app: SimulatedApplication): Record<string, unknown> {
    const snapshot = app.snapshot();
    if (this.options.validate !== false) {
      for (const error of validateApplication(snapshot)) this.schemaErrors.push(`${app.name}: ${error}`);
    }
    return snapshot;
  }
}

function matches(stream: Stream, app: SimulatedApplication): boolean {
  return (
    (!stream.name || stream.name === app.name) &&
    (!stream.appNamespace || stream.appNamespace === app.namespace)
  );
}

function writeEvent(res: ServerResponse, type: string, application: unknown): void {
  res.write(JSON.stringify({ result: { type, application } }) + '\n');
}

function parseSelector(selector: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (selector ?? '').split(',').filter(Boolean)) {
    const [k, v] = part.split('=');
    if (k) out[k.trim()] = (v ?? '').trim();
  }
  return out;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {};
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new ApiFailure(3, 'invalid JSON body');
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function sendError(res: ServerResponse, failure: ApiFailure): void {
  if (res.headersSent) return void res.destroy();
  sendJson(res, failure.httpStatus, { error: failure.message, code: failure.code, message: failure.message });
}
