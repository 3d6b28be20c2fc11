import type { DeliveryRecord } from './deployer.js';

/**
 * Durable records of running deliveries, kept in the cluster so that another instance can finish a
 * delivery after a crash (the Flux deployer keeps its record on the object itself; the Argo CD
 * deployer keeps it here). Keyed by the trigger id.
 */
export interface DeliveryStore {
  save(record: DeliveryRecord & { target: string; tool: 'argocd' | 'flux' }): Promise<void>;
  remove(triggeredid: string): Promise<void>;
  list(): Promise<(DeliveryRecord & { target: string; tool: 'argocd' | 'flux' })[]>;
}

/** In-memory store: for tests and for running without a cluster (records do not survive a restart). */
export class MemoryDeliveryStore implements DeliveryStore {
  private readonly records = new Map<string, DeliveryRecord & { target: string; tool: 'argocd' | 'flux' }>();
  async save(record: DeliveryRecord & { target: string; tool: 'argocd' | 'flux' }): Promise<void> {
    this.records.set(record.triggeredid, structuredClone(record));
  }
  async remove(triggeredid: string): Promise<void> {
    this.records.delete(triggeredid);
  }
  async list(): Promise<(DeliveryRecord & { target: string; tool: 'argocd' | 'flux' })[]> {
    return [...this.records.values()].map((r) => structuredClone(r));
  }
}
