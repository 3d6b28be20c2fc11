import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { apiVersionOf, type ResourceType } from './resource-types.js';
import { ApiStatusError } from './status.js';
import { isObject } from './patch.js';

export type KubeObject = Record<string, unknown> & {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: unknown;
  status?: unknown;
};

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

export const WATCH_EVENT_TYPES = { added: 'ADDED', modified: 'MODIFIED', deleted: 'DELETED' } as const;
export type WatchEventType = (typeof WATCH_EVENT_TYPES)[keyof typeof WATCH_EVENT_TYPES];

export interface StoreEvent {
  type: WatchEventType;
  resourceType: ResourceType;
  object: KubeObject;
  /** The resourceVersion this write produced. */
  rv: number;
}

export type StoreListener = (event: StoreEvent) => void;

/** Thrown when a watch starts from a resourceVersion older than the kept history. */
export class ResourceVersionGoneError extends ApiStatusError {
  constructor(rv: string) {
    super(410, `too old resource version: ${rv}`);
  }
}

export interface ObjectStoreOptions {
  /** How many write events are kept for watches that resume from a resourceVersion. */
  historyLimit?: number;
}

/**
 * The simulated cluster's state: objects by type, one global resourceVersion counter, a bounded
 * event history for watches, and listeners (the router's watches, the Flux controller).
 */
export class ObjectStore {
  private readonly objects = new Map<string, KubeObject>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<StoreListener>();
  private readonly historyLimit: number;
  private rv = 1;
  /** History before this resourceVersion has been dropped. */
  private oldestRv = 1;

  constructor(options: ObjectStoreOptions = {}) {
    this.historyLimit = options.historyLimit ?? 5000;
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const obj = this.objects.get(key(type, namespace, name));
    return obj ? structuredClone(obj) : undefined;
  }

  list(type: ResourceType, namespace?: string): KubeObject[] {
    const out: KubeObject[] = [];
    for (const obj of this.objects.values()) {
      if (obj.kind !== type.kind || apiGroup(obj.apiVersion) !== type.group) continue;
      if (namespace !== undefined && obj.metadata.namespace !== namespace) continue;
      out.push(structuredClone(obj));
    }
    return out.sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));
  }

  create(type: ResourceType, object: KubeObject): KubeObject {
    const name = object.metadata?.name;
    if (!name) throw new ApiStatusError(422, `${type.kind} is invalid: metadata.name: Required value`);
    const k = key(type, object.metadata.namespace, name);
    if (this.objects.has(k)) {
      throw new ApiStatusError(409, `${type.plural}.${type.group || 'core'} "${name}" already exists`, {
        name,
        group: type.group,
        kind: type.plural,
      });
    }
    const stored = structuredClone(object);
    stored.apiVersion = apiVersionOf(type);
    stored.kind = type.kind;
    stored.metadata.uid = randomUUID();
    stored.metadata.creationTimestamp = kubeTimestamp();
    if (type.schema) stored.metadata.generation = 1;
    return this.commit(type, k, stored, WATCH_EVENT_TYPES.added);
  }

  /**
   * Replaces an object with `next` (already patched or sent whole). `subresource: 'status'` keeps
   * everything but status; a main write keeps status when the kind has the status subresource.
   * A stale `metadata.resourceVersion` in `next` is a 409.
   */
  update(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    next: KubeObject,
    subresource?: 'status',
  ): KubeObject {
    const k = key(type, namespace, name);
    const current = this.objects.get(k);
    if (!current) throw notFound(type, name);
    const sentRv = next.metadata?.resourceVersion;
    if (sentRv !== undefined && sentRv !== '' && sentRv !== current.metadata.resourceVersion) {
      throw new ApiStatusError(
        409,
        `Operation cannot be fulfilled on ${type.plural}.${type.group || 'core'} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        { name, group: type.group, kind: type.plural },
      );
    }
    const stored = structuredClone(current);
    if (subresource === 'status') {
      stored.status = structuredClone(next.status);
    } else {
      const meta = isObject(next.metadata) ? next.metadata : { name };
      stored.metadata = {
        ...structuredClone(meta),
        name,
        namespace: current.metadata.namespace,
        uid: current.metadata.uid,
        creationTimestamp: current.metadata.creationTimestamp,
      };
      for (const field of Object.keys(stored))
        if (!['apiVersion', 'kind', 'metadata', 'status'].includes(field)) delete stored[field];
      for (const [field, value] of Object.entries(next)) {
        if (['apiVersion', 'kind', 'metadata'].includes(field)) continue;
        if (field === 'status' && type.statusSubresource) continue;
        stored[field] = structuredClone(value);
      }
      if (!type.statusSubresource && next.status === undefined) delete stored.status;
      if (type.schema) {
        // Compared by value, not by JSON text: a write re-adds fields in another order.
        const specChanged = !isDeepStrictEqual(withoutMeta(current), withoutMeta(stored));
        stored.metadata.generation = (current.metadata.generation ?? 1) + (specChanged ? 1 : 0);
      }
    }
    if (JSON.stringify(stored) === JSON.stringify(current)) return structuredClone(current);
    return this.commit(type, k, stored, WATCH_EVENT_TYPES.modified);
  }

  delete(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const k = key(type, namespace, name);
    const current = this.objects.get(k);
    if (!current) throw notFound(type, name);
    this.objects.delete(k);
    this.rv += 1;
    current.metadata.resourceVersion = String(this.rv);
    this.record({ type: WATCH_EVENT_TYPES.deleted, resourceType: type, object: current, rv: this.rv });
    return structuredClone(current);
  }

  /** Events after `sinceRv` (for a watch resuming there); 410 when that part of history is gone. */
  eventsSince(sinceRv: number): StoreEvent[] {
    if (sinceRv < this.oldestRv - 1) throw new ResourceVersionGoneError(String(sinceRv));
    return this.history.filter((e) => e.rv > sinceRv);
  }

  /** Drops all kept history, so any watch resuming from an older resourceVersion gets 410 (tests). */
  compact(): void {
    this.history.length = 0;
    this.oldestRv = this.rv + 1;
  }

  private commit(type: ResourceType, k: string, stored: KubeObject, eventType: WatchEventType): KubeObject {
    this.rv += 1;
    stored.metadata.resourceVersion = String(this.rv);
    this.objects.set(k, stored);
    this.record({ type: eventType, resourceType: type, object: structuredClone(stored), rv: this.rv });
    return structuredClone(stored);
  }

  private record(event: StoreEvent): void {
    this.history.push(event);
    while (this.history.length > this.historyLimit) {
      const dropped = this.history.shift()!;
      this.oldestRv = dropped.rv + 1;
    }
    for (const listener of [...this.listeners]) listener(event);
  }
}

/** Now as Kubernetes writes timestamps: RFC 3339 in UTC, whole seconds. */
export function kubeTimestamp(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

export function notFound(type: ResourceType, name: string): ApiStatusError {
  return new ApiStatusError(404, `${type.plural}.${type.group || 'core'} "${name}" not found`, {
    name,
    group: type.group,
    kind: type.plural,
  });
}

function key(type: ResourceType, namespace: string | undefined, name: string): string {
  return `${type.group}/${type.plural}/${namespace ?? ''}/${name}`;
}

function apiGroup(apiVersion: string | undefined): string {
  const parts = (apiVersion ?? '').split('/');
  return parts.length === 2 ? parts[0]! : '';
}

function withoutMeta(obj: KubeObject): unknown {
  const { metadata: _m, status: _s, ...rest } = obj;
  return rest;
}
