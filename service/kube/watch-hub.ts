import { type Logger, reopenStream } from '../../lib/index.js';
import type { ServiceMetrics } from '../metrics.js';
import type { KubeClient, ResourceRef } from './kube-client.js';
import { KubeApiError } from './kube-errors.js';

export interface WatchedObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
}

export type ObjectListener<T> = (object: T, event: 'ADDED' | 'MODIFIED' | 'DELETED') => void;

export interface WatchHubOptions {
  client: KubeClient;
  resource: ResourceRef;
  namespace: string;
  logger: Logger;
  metrics?: ServiceMetrics;
  tool?: 'flux' | 'kube';
}

/**
 * One shared watch per (kind, namespace) that fans events out to listeners by object name, so N
 * concurrent deliveries cost one LIST and one WATCH. Re-established from the last resourceVersion
 * when the server ends it or it fails (with backoff); relists on 410 Gone. Listeners also get the
 * objects of every (re)list, so nothing that happened while disconnected is missed.
 */
export class WatchHub<T extends WatchedObject> {
  private readonly listeners = new Map<string, Set<ObjectListener<T>>>();
  private readonly latest = new Map<string, T>();
  private readonly stop = new AbortController();
  private running?: Promise<void>;
  private resourceVersion?: string;

  constructor(private readonly options: WatchHubOptions) {}

  /** Calls `listener` with every new state of object `name` until the returned function is called. */
  subscribe(name: string, listener: ObjectListener<T>): () => void {
    const set = this.listeners.get(name) ?? new Set();
    set.add(listener);
    this.listeners.set(name, set);
    this.running ??= this.run();
    return () => {
      // Idempotent: a second call must not drop listeners that subscribed since.
      if (!set.delete(listener)) return;
      if (set.size === 0 && this.listeners.get(name) === set) this.listeners.delete(name);
    };
  }

  /** The last state seen for `name`, if the hub has seen it. */
  current(name: string): T | undefined {
    return this.latest.get(name);
  }

  /** Feeds an object read elsewhere (a GET after a notification) to its listeners. */
  publish(object: T): void {
    this.deliver(object, 'MODIFIED');
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.running?.catch(() => undefined);
  }

  private async run(): Promise<void> {
    const { client, resource, namespace, logger } = this.options;
    await reopenStream((progress) => this.watchOnce(progress), {
      signal: this.stop.signal,
      backoff: client.retry,
      onFailure: (err, delayMs) => {
        const reason = err instanceof KubeApiError ? err.kind : 'error';
        if (err instanceof KubeApiError && err.kind === 'gone') this.resourceVersion = undefined;
        this.countRetry(reason);
        logger.warn('watch failed, re-establishing', {
          resource: resource.plural,
          namespace,
          reason,
          delayMs,
          error: err instanceof Error ? err.message : String(err),
        });
        return 'reopen';
      },
    });
  }

  /** One watch connection from the last resourceVersion (after a list when there is none). */
  private async watchOnce(progress: () => void): Promise<void> {
    const { client, resource, namespace } = this.options;
    if (this.resourceVersion === undefined) await this.relist();
    for await (const event of client.watch<T>(
      resource,
      namespace,
      { resourceVersion: this.resourceVersion, timeoutSeconds: 300 },
      this.stop.signal,
    )) {
      progress();
      if (event.type === 'ERROR') {
        const code = (event.object as { code?: number }).code;
        if (code === 410) this.countRetry('gone');
        this.resourceVersion = undefined;
        return;
      }
      this.resourceVersion = event.object.metadata?.resourceVersion ?? this.resourceVersion;
      if (event.type === 'BOOKMARK') continue;
      this.deliver(event.object, event.type);
    }
  }

  private async relist(): Promise<void> {
    const { client, resource, namespace } = this.options;
    const list = await client.list<T>(resource, namespace, {
      signal: this.stop.signal,
      deadline: client.clock.now() + 60_000,
    });
    this.resourceVersion = list.resourceVersion;
    for (const item of list.items) this.deliver(item, 'ADDED');
  }

  private deliver(object: T, event: 'ADDED' | 'MODIFIED' | 'DELETED'): void {
    const name = object.metadata.name;
    if (event === 'DELETED') this.latest.delete(name);
    else this.latest.set(name, object);
    for (const listener of [...(this.listeners.get(name) ?? [])]) listener(object, event);
  }

  private countRetry(reason: string): void {
    this.options.metrics?.apiRetries.inc({ tool: this.options.tool ?? 'kube', reason });
  }
}

/** One WatchHub per (resource, namespace), created on first use. */
export class WatchHubs {
  private readonly hubs = new Map<string, WatchHub<WatchedObject>>();

  constructor(private readonly base: Omit<WatchHubOptions, 'resource' | 'namespace'>) {}

  for<T extends WatchedObject>(resource: ResourceRef, namespace: string): WatchHub<T> {
    const key = `${resource.group}/${resource.plural}/${namespace}`;
    let hub = this.hubs.get(key);
    if (!hub) {
      hub = new WatchHub({ ...this.base, resource, namespace });
      this.hubs.set(key, hub);
    }
    return hub as unknown as WatchHub<T>;
  }

  async close(): Promise<void> {
    await Promise.all([...this.hubs.values()].map((h) => h.close()));
    this.hubs.clear();
  }
}
