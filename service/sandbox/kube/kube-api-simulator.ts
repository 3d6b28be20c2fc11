import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { FaultQueue, type FaultSpec, type RequestInfo } from './faults.js';
import { ObjectStore, type KubeObject } from './object-store.js';
import { RbacRules, type RbacRule } from './rbac.js';
import { ResourceRegistry, stamped, type ResourceType } from './resource-types.js';
import { KubeApiRouter } from './router.js';
import { SchemaValidator } from './validation.js';
import type { WatchStream } from './watch-stream.js';

export interface KubeApiSimulatorOptions {
  /** Watch events kept for resuming watches; older resourceVersions get 410 Gone. */
  historyLimit?: number;
  rbac?: RbacRule[];
}

export type RequestCountFilter = Partial<
  Pick<RequestInfo, 'verb' | 'group' | 'resource' | 'subresource' | 'namespace' | 'name'>
>;

/**
 * A Kubernetes API server on loopback HTTP for tests and the demo: discovery, CRUD, merge/JSON
 * patch, watches with resourceVersion and 410, CRD validation, RBAC, fault injection and a request
 * log. The Flux controller simulator works on its `store`.
 */
export class KubeApiSimulator {
  readonly registry = new ResourceRegistry();
  readonly store: ObjectStore;
  readonly rbac = new RbacRules();
  private readonly faults = new FaultQueue();
  private readonly validator = new SchemaValidator();
  private readonly watches = new Set<WatchStream>();
  private readonly hanging = new Set<ServerResponse>();
  private readonly sockets = new Set<Socket>();
  private readonly log: RequestInfo[] = [];
  private server?: Server;
  private port = 0;

  constructor(options: KubeApiSimulatorOptions = {}) {
    this.store = new ObjectStore({ historyLimit: options.historyLimit });
    this.rbac.set(options.rbac);
  }

  static async start(options: KubeApiSimulatorOptions & { port?: number } = {}): Promise<KubeApiSimulator> {
    const sim = new KubeApiSimulator(options);
    await sim.start({ port: options.port ?? 0 });
    return sim;
  }

  async start(options: { port?: number } = {}): Promise<void> {
    const router = new KubeApiRouter({
      registry: this.registry,
      store: this.store,
      validator: this.validator,
      rbac: this.rbac,
      faults: this.faults,
      watches: this.watches,
      onRequest: (info) => this.log.push(info),
      onHang: (res) => this.hanging.add(res),
    });
    const server = createServer((req, res) => void router.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Stops listening and drops every connection (watches included). `start()` again reuses the port. */
  async stop(): Promise<void> {
    this.closeWatches();
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Ends every open watch, as the API server does on its watch timeout. */
  closeWatches(): void {
    for (const watch of [...this.watches]) watch.close();
  }

  get openWatches(): number {
    return this.watches.size;
  }

  /** The next matching requests fail with a Status code, a connection reset or no answer at all. */
  failNext(spec: FaultSpec): void {
    this.faults.add(spec);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** `undefined`: allow everything (the default). Rules are enforced on every request. */
  setRbac(rules: RbacRule[] | undefined): void {
    this.rbac.set(rules);
  }

  get requests(): readonly RequestInfo[] {
    return this.log;
  }

  requestCount(filter: RequestCountFilter = {}): number {
    return this.log.filter((r) => Object.entries(filter).every(([k, v]) => r[k as keyof RequestInfo] === v))
      .length;
  }

  clearRequestLog(): void {
    this.log.length = 0;
  }

  /** Direct store access for seeding and assertions, bypassing HTTP, faults and RBAC (still validated). */
  type(kind: string): ResourceType {
    const type = this.registry.byKind(kind);
    if (!type) throw new Error(`the sandbox does not serve kind ${kind}`);
    return type;
  }

  create(kind: string, object: KubeObject): KubeObject {
    const type = this.type(kind);
    this.validator.validate(type, stamped(object, type));
    return this.store.create(type, object);
  }

  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.store.get(this.type(kind), namespace, name);
  }

  /** Writes the main resource (`status` kept) or, with `subresource: 'status'`, only the status. */
  update(kind: string, object: KubeObject, subresource?: 'status'): KubeObject {
    const type = this.type(kind);
    const current = this.store.get(type, object.metadata.namespace, object.metadata.name);
    const candidate = subresource
      ? { ...current, status: object.status }
      : { ...object, status: current?.status };
    this.validator.validate(type, stamped(candidate, type));
    return this.store.update(
      type,
      object.metadata.namespace,
      object.metadata.name,
      { ...object, metadata: { ...object.metadata, resourceVersion: undefined } } as KubeObject,
      subresource,
    );
  }
}
