import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  encodeKeptnEvent,
  isTaskEventType,
  KEPTN_STREAM,
  parseKeptnEvent,
  parseTaskEventType,
  type Integration,
  type KeptnEvent,
  type LogEntry,
  type Subscription,
} from '../../../lib/index.js';
import { validateApiEvent, rewriteApiEvent } from './event-validation.js';
import { ApiError, IntegrationStore } from './integrations.js';
import { ShipyardEngine, type ShipyardSpec } from './shipyard-engine.js';

export interface ControlPlaneStartOptions {
  /** Default 0 (a free port). */
  port?: number;
  /** When set, the gateway paths (`/api/...`) require `x-token` to equal it. */
  token?: string;
  /** When set, accepted API events are published here and `sh.keptn.>` is followed (shipyard-controller). */
  natsUrl?: string;
  /**
   * Follow `sh.keptn.>` through the JetStream stream `keptn` (created if missing) with a durable
   * consumer, as the real shipyard-controller does, so events published around a NATS restart are
   * not missed. Default: a core subscription.
   */
  jetstream?: boolean;
  /** Integrations not pinged for this long are dropped (Keptn: 1 min); default never. */
  integrationTtlMs?: number;
}

/** The gateway's answer when its `auth_request` to api-service fails (the `/api/controlPlane/` paths). */
const UNAUTHENTICATED = { code: 401, message: 'unauthenticated or invalid credentials' };
/** api-service's own answer to a wrong `x-token` (KK `api/middleware/tokenauth.go`; seen on 1.4.5). */
const API_SERVICE_UNAUTHENTICATED = { code: 401, message: 'incorrect api key auth' };

/**
 * A simulated Keptn control plane on 127.0.0.1: shipyard-controller's internal paths
 * (`/v1/uniform/registration...`, `/v1/log`, `/v1/event/triggered/{type}`), the gateway's
 * (`/api/controlPlane/v1/...`, `/api/v1/event`) and, with NATS, a tiny shipyard-controller.
 */
export class ControlPlaneSimulator {
  private server?: Server;
  private nc?: NatsConnection;
  private options: ControlPlaneStartOptions = {};
  private readonly store = new IntegrationStore();
  private readonly logEntries: LogEntry[] = [];
  private readonly recorded: KeptnEvent[] = [];
  private readonly recordedIds = new Set<string>();
  /** Open task triggers by id, with the `.started` and `.finished` counted against each. */
  private readonly open = new Map<string, { event: KeptnEvent; started: number; finished: number }>();
  private readonly engine = new ShipyardEngine((e) => this.emitOwn(e));
  private failures: { remaining: number; status: number } = { remaining: 0, status: 500 };
  /** Requests received, by `METHOD path` (the path as sent, without the query). */
  private readonly received = new Map<string, number>();
  private ttlTimer?: NodeJS.Timeout;

  static async start(options: ControlPlaneStartOptions = {}): Promise<ControlPlaneSimulator> {
    const sim = new ControlPlaneSimulator();
    await sim.start(options);
    return sim;
  }

  async start(options: ControlPlaneStartOptions = {}): Promise<void> {
    this.options = options;
    if (options.natsUrl) {
      this.nc = await connect({
        servers: options.natsUrl,
        name: 'controlplane-simulator',
        maxReconnectAttempts: -1,
        reconnectTimeWait: 100,
      });
      if (options.jetstream) await this.followStream(this.nc);
      else void this.follow(this.nc);
      await this.nc.flush();
    }
    const server = createServer((req, res) => void this.route(req, res));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', () => resolve()));
    if (options.integrationTtlMs) {
      this.ttlTimer = setInterval(
        () => this.store.expire(new Date(), options.integrationTtlMs!),
        Math.min(1000, options.integrationTtlMs),
      );
    }
  }

  /** `http://127.0.0.1:<port>`: shipyard-controller's base (NATS mode); `${url}/api` is the gateway. */
  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  get apiUrl(): string {
    return `${this.url}/api`;
  }

  async stop(): Promise<void> {
    clearInterval(this.ttlTimer);
    if (this.nc && !this.nc.isClosed()) await this.nc.drain().catch(() => this.nc?.close());
    const server = this.server;
    this.server = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  }

  // --- test accessors ---

  registrations(): Integration[] {
    return this.store.all();
  }

  logs(): LogEntry[] {
    return [...this.logEntries];
  }

  events(filter?: { type?: string; shkeptncontext?: string; triggeredid?: string }): KeptnEvent[] {
    return this.recorded.filter(
      (e) =>
        (!filter?.type || e.type === filter.type) &&
        (!filter?.shkeptncontext || e.shkeptncontext === filter.shkeptncontext) &&
        (!filter?.triggeredid || e.triggeredid === filter.triggeredid),
    );
  }

  /** Sequence triggers waiting behind the sequence running for the same project, stage and service. */
  waitingSequences(): KeptnEvent[] {
    return this.engine.waitingSequences();
  }

  /**
   * Adds an open task trigger that `/v1/event/triggered/{type}` returns until its task completes:
   * as many `.finished` as `.started` answered it, at least one.
   */
  injectTriggered(event: KeptnEvent): void {
    this.recordedIds.delete(event.id);
    this.record(event);
  }

  setSubscriptions(integrationId: string, subscriptions: Subscription[]): void {
    this.store.setSubscriptions(integrationId, subscriptions);
  }

  setShipyard(project: string, spec: ShipyardSpec): void {
    this.engine.setShipyard(project, spec);
  }

  /** Drops an integration, as the TTL index would. */
  dropIntegration(id: string): void {
    this.store.delete(id);
  }

  /**
   * How many requests have been received whose `METHOD path` (the path as sent, without the query)
   * matches: tests wait on it for the next poll or ping instead of sleeping.
   */
  requestCount(match: RegExp): number {
    let n = 0;
    for (const [key, count] of this.received) if (match.test(key)) n += count;
    return n;
  }

  /** The next `n` requests (any path) are answered with `status`. */
  failNext(n: number, status = 500): void {
    this.failures = { remaining: n, status };
  }

  // --- events ---

  private async follow(nc: NatsConnection): Promise<void> {
    for await (const msg of nc.subscribe('sh.keptn.>')) {
      const parsed = parseKeptnEvent(msg.data);
      if (parsed.ok) this.record(parsed.event);
    }
  }

  private async followStream(nc: NatsConnection): Promise<void> {
    const jsm = await jetstreamManager(nc);
    const exists = await jsm.streams.info(KEPTN_STREAM).then(
      () => true,
      () => false,
    );
    if (!exists) await jsm.streams.add({ name: KEPTN_STREAM, subjects: ['sh.keptn.>'] });
    const durable = 'shipyard-controller-all-events';
    await jsm.consumers.add(KEPTN_STREAM, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
    });
    const messages = await (await jetstream(nc).consumers.get(KEPTN_STREAM, durable)).consume();
    void (async () => {
      for await (const m of messages) {
        const parsed = parseKeptnEvent(m.data);
        if (parsed.ok) this.record(parsed.event);
        m.ack();
      }
    })();
  }

  /** Records an event and updates open triggers and the shipyard engine. */
  private record(event: KeptnEvent): void {
    if (event.id) {
      // a redelivery (JetStream after a restart) is stored once, as Keptn's event store keys by id
      if (this.recordedIds.has(event.id)) return;
      this.recordedIds.add(event.id);
    }
    this.recorded.push(event);
    const task = isTaskEventType(event.type) ? parseTaskEventType(event.type) : undefined;
    if (task?.kind === 'triggered' && event.id) this.open.set(event.id, { event, started: 0, finished: 0 });
    if ((task?.kind === 'started' || task?.kind === 'finished') && event.triggeredid)
      this.countAnswer(event, task.kind);
    this.engine.onEvent(event);
  }

  /**
   * shipyard-controller deletes a task's `.triggered` from its open list only when the task is
   * complete (#started == #finished > 0), so a lone `.finished` leaves it open (KK
   * `internal/controller/shipyardcontroller.go` `onTaskProgress`). Events without project, stage and
   * service, or of another project, do not count.
   */
  private countAnswer(event: KeptnEvent, kind: 'started' | 'finished'): void {
    const open = this.open.get(event.triggeredid!);
    const d = event.data;
    if (
      !open ||
      !d?.project ||
      !d.stage ||
      !d.service ||
      d.project !== open.event.data.project ||
      event.shkeptncontext !== open.event.shkeptncontext
    )
      return;
    open[kind]++;
    if (open.finished > 0 && open.started === open.finished) this.open.delete(event.triggeredid!);
  }

  private emit(event: KeptnEvent): void {
    if (this.nc) this.nc.publish(event.type, encodeKeptnEvent(event));
    else this.record(event);
  }

  /**
   * shipyard-controller's own events: stored first (a task's trigger is in the open list, and so in
   * reach of remote pollers and start-up scans, before it is on NATS), then published; the copy that
   * comes back from NATS is the same id and is not stored twice.
   */
  private emitOwn(event: KeptnEvent): void {
    this.record(event);
    if (this.nc) this.nc.publish(event.type, encodeKeptnEvent(event));
  }

  // --- HTTP ---

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const key = `${req.method} ${(req.url ?? '/').split('?')[0]}`;
    this.received.set(key, (this.received.get(key) ?? 0) + 1);
    try {
      if (this.failures.remaining > 0) {
        this.failures.remaining--;
        return send(res, this.failures.status, { code: this.failures.status, message: 'simulated failure' });
      }
      const url = new URL(req.url ?? '/', 'http://x');
      let path = url.pathname;
      if (path.startsWith('/api/')) {
        if (this.options.token && req.headers['x-token'] !== this.options.token)
          return send(
            res,
            401,
            path.startsWith('/api/controlPlane/') ? UNAUTHENTICATED : API_SERVICE_UNAUTHENTICATED,
          );
        path = path.startsWith('/api/controlPlane/')
          ? path.slice('/api/controlPlane'.length)
          : path.slice('/api'.length);
        if (path === '/v1/event' && req.method === 'POST')
          return send(res, 200, await this.postEvent(await readJson(req)));
        // mongodb-datastore through the gateway: the events of one context, as `keptn get event` reads them.
        if (path === '/mongodb-datastore/event' && req.method === 'GET')
          return send(res, 200, this.storedEvents(url.searchParams));
      }
      const body = req.method === 'POST' || req.method === 'PUT' ? await readJson(req) : undefined;
      const [status, payload] = this.internal(req.method ?? 'GET', path, url.searchParams, body);
      return send(res, status, payload);
    } catch (err) {
      if (err instanceof ApiError) return send(res, err.status, { code: err.status, message: err.message });
      return send(res, 500, { code: 500, message: (err as Error).message });
    }
  }

  private internal(method: string, path: string, query: URLSearchParams, body: unknown): [number, unknown] {
    const now = new Date();
    const seg = path.split('/').filter(Boolean).map(decodeURIComponent);
    if (seg[0] !== 'v1') throw new ApiError(404, `no route ${method} ${path}`);
    if (seg[1] === 'log' && method === 'POST') {
      this.logEntries.push(...(((body as { logs?: LogEntry[] })?.logs ?? []) as LogEntry[]));
      return [200, {}];
    }
    if (seg[1] === 'event' && seg[2] === 'triggered' && seg[3] && method === 'GET')
      return [200, this.openTriggers(seg[3], query)];
    if (seg[1] !== 'uniform' || seg[2] !== 'registration')
      throw new ApiError(404, `no route ${method} ${path}`);
    const [, , , id, sub, subId] = seg;
    if (!id) {
      if (method === 'POST') {
        const r = this.store.register(body, now);
        return [r.status, { id: r.id }];
      }
      if (method === 'GET') return [200, this.store.all().filter((i) => matchesQuery(i, query))];
    } else if (sub === 'ping' && method === 'PUT') {
      return [200, this.store.ping(id, now)];
    } else if (!sub && method === 'DELETE') {
      this.store.delete(id);
      return [200, {}];
    } else if (sub === 'subscription') {
      if (method === 'POST' && !subId) return [201, { id: this.store.addSubscription(id, body) }];
      if (method === 'PUT' && subId) return [201, { id: this.store.updateSubscription(id, subId, body) }];
      if (method === 'DELETE' && subId) return (this.store.deleteSubscription(id, subId), [200, {}]);
      if (method === 'GET') {
        const subs = this.store.require(id).subscriptions;
        if (!subId) return [200, subs];
        const one = subs.find((s) => s.id === subId);
        if (!one) throw new ApiError(404, `subscription ${subId} not found`);
        return [200, one];
      }
    }
    throw new ApiError(404, `no route ${method} ${path}`);
  }

  private storedEvents(query: URLSearchParams): unknown {
    const context = query.get('keptnContext');
    const project = query.get('project');
    const events = this.events().filter(
      (e) => (!context || e.shkeptncontext === context) && (!project || e.data.project === project),
    );
    return { events, nextPageKey: '0', pageSize: events.length, totalCount: events.length };
  }

  /**
   * shipyard-controller's open trigger list: `totalCount` is left out when 0 and there is no
   * `pageSize`; a project filter naming a project it does not have is a 404 `project not found`
   * (KK `internal/handler/eventhandler.go`, `GetTriggeredEventsOfProject`; seen on 1.4.5). Here a
   * project exists once it has a shipyard or an event.
   */
  private openTriggers(type: string, query: URLSearchParams): unknown {
    const project = query.get('project');
    if (
      project &&
      !this.engine.hasShipyard(project) &&
      !this.recorded.some((e) => e.data?.project === project)
    )
      throw new ApiError(404, 'project not found');
    const scope = (['project', 'stage', 'service'] as const).filter((k) => query.get(k));
    const matches = [...this.open.values()]
      .map((o) => o.event)
      .filter((e) => e.type === type && scope.every((k) => e.data[k] === query.get(k)));
    const pageSize = Number(query.get('pageSize') || 20);
    const from = Number(query.get('nextPageKey') || 0);
    const page = matches.slice(from, from + pageSize);
    const next = from + pageSize < matches.length ? String(from + pageSize) : '0';
    return matches.length > 0
      ? { events: page, nextPageKey: next, totalCount: matches.length }
      : { events: page, nextPageKey: next };
  }

  private async postEvent(body: unknown): Promise<{ keptnContext: string }> {
    validateApiEvent(body);
    const event = rewriteApiEvent(body as KeptnEvent, new Date());
    this.emit(event);
    if (this.nc) await this.nc.flush();
    return { keptnContext: event.shkeptncontext ?? randomUUID() };
  }
}

function matchesQuery(i: Integration, q: URLSearchParams): boolean {
  const eq = (k: string, v: string | undefined) => !q.get(k) || q.get(k) === v;
  const subs = i.subscriptions;
  const inFilter = (k: 'project' | 'stage' | 'service', key: 'projects' | 'stages' | 'services') =>
    !q.get(k) || subs.some((s) => !s.filter?.[key]?.length || s.filter[key]!.includes(q.get(k)!));
  return (
    eq('id', i.id) &&
    eq('name', i.name) &&
    eq('namespace', i.metadata.kubernetesmetadata.namespace) &&
    eq('hostname', i.metadata.hostname) &&
    inFilter('project', 'projects') &&
    inFilter('stage', 'stages') &&
    inFilter('service', 'services')
  );
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body ?? {});
  res
    .writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    .end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, 'body is not JSON');
  }
}
