import { createHash, randomUUID } from 'node:crypto';
import type { Integration, Subscription } from '../../../lib/index.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** `hex(sha1("<name>-<namespace>-<hostname>"))` (go-utils `IntegrationID.Hash`). */
export function integrationId(name: string, namespace: string, hostname: string): string {
  return createHash('sha1').update(`${name}-${namespace}-${hostname}`).digest('hex');
}

/** shipyard-controller's uniform integration store with its register semantics (contract 4.2). */
export class IntegrationStore {
  private readonly byId = new Map<string, Integration>();

  all(): Integration[] {
    return [...this.byId.values()].map((i) => structuredClone(i));
  }

  delete(id: string): boolean {
    return this.byId.delete(id);
  }

  /** 201 for a new integration, 200 for a known (name, namespace). */
  register(body: unknown, now: Date): { status: 200 | 201; id: string } {
    const b = (body ?? {}) as Partial<Integration>;
    const name = b.name ?? '';
    const namespace = b.metadata?.kubernetesmetadata?.namespace ?? '';
    const hostname = b.metadata?.hostname ?? '';
    if (!name || !namespace || !hostname)
      throw new ApiError(400, 'incomplete integration ID: name, namespace and hostname must be set');
    const subscriptions = (b.subscriptions ?? []).map((s) => validateSubscription(name, s));
    const existing = [...this.byId.values()].find(
      (i) => i.name === name && i.metadata.kubernetesmetadata.namespace === namespace,
    );
    if (existing) {
      if (existing.subscriptions.length === 0) existing.subscriptions = subscriptions.map(withNewId);
      existing.metadata = {
        ...existing.metadata,
        integrationversion: b.metadata!.integrationversion,
        distributorversion: b.metadata!.distributorversion,
        lastseen: now.toISOString(),
      };
      return { status: 200, id: existing.id };
    }
    const id = integrationId(name, namespace, hostname);
    this.byId.set(id, {
      id,
      name,
      metadata: { ...b.metadata!, lastseen: now.toISOString() },
      subscriptions: subscriptions.map(withNewId),
    });
    return { status: 201, id };
  }

  ping(id: string, now: Date): Integration {
    const i = this.require(id);
    i.metadata.lastseen = now.toISOString();
    return structuredClone(i);
  }

  /** Drops integrations not seen for `ttlMs` (the Mongo TTL index). */
  expire(now: Date, ttlMs: number): void {
    for (const [id, i] of this.byId)
      if (now.getTime() - Date.parse(i.metadata.lastseen ?? '') > ttlMs) this.byId.delete(id);
  }

  addSubscription(id: string, body: unknown): string {
    const i = this.require(id);
    const sub = withNewId(validateSubscription(i.name, body as Subscription));
    i.subscriptions.push(sub);
    return sub.id!;
  }

  updateSubscription(id: string, subId: string, body: unknown): string {
    const i = this.require(id);
    const index = i.subscriptions.findIndex((s) => s.id === subId);
    if (index < 0) throw new ApiError(404, `subscription ${subId} not found`);
    i.subscriptions[index] = { ...validateSubscription(i.name, body as Subscription), id: subId };
    return subId;
  }

  deleteSubscription(id: string, subId: string): void {
    const i = this.require(id);
    const before = i.subscriptions.length;
    i.subscriptions = i.subscriptions.filter((s) => s.id !== subId);
    if (i.subscriptions.length === before) throw new ApiError(404, `subscription ${subId} not found`);
  }

  /** Test hook: replaces an integration's subscriptions (ids kept or generated). */
  setSubscriptions(id: string, subscriptions: Subscription[]): void {
    this.require(id).subscriptions = subscriptions.map((s) => (s.id ? { ...s } : withNewId(s)));
  }

  require(id: string): Integration {
    const i = this.byId.get(id);
    if (!i) throw new ApiError(404, `integration ${id} not found`);
    return i;
  }
}

function validateSubscription(name: string, s: Subscription | undefined): Subscription {
  if (!s || typeof s.event !== 'string' || s.event === '')
    throw new ApiError(400, 'subscription event must be set');
  const f = s.filter ?? {};
  if (f.services?.length && !f.stages?.length)
    throw new ApiError(400, 'a subscription filter with services must also name stages');
  if (name === 'webhook-service' && f.projects?.length !== 1)
    throw new ApiError(400, 'webhook-service subscriptions need exactly one project');
  return {
    id: s.id,
    event: s.event,
    filter: { projects: f.projects ?? null, stages: f.stages ?? null, services: f.services ?? null },
  };
}

function withNewId(s: Subscription): Subscription {
  return { ...s, id: randomUUID() };
}
