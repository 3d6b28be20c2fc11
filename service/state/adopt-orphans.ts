import type { Logger } from '../../lib/index.js';
import type { OwnedDeliveryStore } from './configmap-delivery-store.js';
import type { OwnedDelivery } from './owned-delivery.js';
import type { ReplicaLease } from './replica-lease.js';

export interface AdoptOrphansOptions {
  store: OwnedDeliveryStore;
  replicas: Pick<ReplicaLease, 'identity' | 'liveReplicas'>;
  logger: Logger;
  /** Also return this replica's own records: at start-up they belong to the previous run of this pod. */
  includeOwn?: boolean;
  signal?: AbortSignal;
}

/**
 * Claims the delivery records whose owner is no live replica (or that have no owner) for this
 * replica and returns them, owner set, for the deployers to resume. The new owner is written
 * before anything is resumed, so two replicas adopting at once never both follow one delivery.
 */
export async function adoptOrphanedDeliveries(options: AdoptOrphansOptions): Promise<OwnedDelivery[]> {
  const { store, replicas, logger, signal } = options;
  const live = await replicas.liveReplicas(signal);
  const adopted: OwnedDelivery[] = [];
  for (const record of await store.list()) {
    signal?.throwIfAborted();
    if (record.owner === replicas.identity) {
      if (options.includeOwn) adopted.push(record);
      continue;
    }
    if (record.owner !== undefined && live.has(record.owner)) continue;
    if (await store.claim(record.triggeredid, replicas.identity, record.owner)) {
      logger.info('adopted the delivery of a replica that is gone', { triggeredid: record.triggeredid, shkeptncontext: record.shkeptncontext, previousOwner: record.owner });
      adopted.push({ ...record, owner: replicas.identity });
    }
  }
  return adopted;
}
