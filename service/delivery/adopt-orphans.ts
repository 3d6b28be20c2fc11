import type { Logger } from '../../lib/index.js';
import {
  DELIVERY_PHASES,
  isExpiredTombstone,
  type DeliveryRecord,
  type DeliveryStore,
} from '../state/delivery-record.js';
import type { ReplicaLease } from '../leases/replica-lease.js';

export interface AdoptOrphansOptions {
  store: DeliveryStore;
  replicas: Pick<ReplicaLease, 'identity' | 'liveReplicas'>;
  logger: Logger;
  /** Also return this replica's own records: at start-up they belong to the previous run of this pod. */
  includeOwn?: boolean;
  /** Epoch ms this run began: own records started since then are this run's, already being handled. */
  runStartedAt?: number;
  signal?: AbortSignal;
  /** Epoch ms now, for the age of tombstones; default Date.now. */
  now?: number;
}

/**
 * Claims the unfinished delivery records whose owner is no live replica (or that have no owner)
 * for this replica and returns them, owner set, for the deployers to resume. The new owner is
 * written before anything is resumed, so two replicas adopting at once never both follow one
 * delivery. Tombstones (finished deliveries) are never adopted; expired ones are deleted here.
 */
export async function adoptOrphanedDeliveries(options: AdoptOrphansOptions): Promise<DeliveryRecord[]> {
  const { store, replicas, logger, signal } = options;
  // The records before the live replicas: a replica that took a record after this list was alive by
  // then, and is seen so.
  const records = await store.list();
  const live = await replicas.liveReplicas(signal);
  const now = options.now ?? Date.now();
  const adopted: DeliveryRecord[] = [];
  for (const record of records) {
    signal?.throwIfAborted();
    if (record.phase === DELIVERY_PHASES.finished) {
      if (isExpiredTombstone(record, now)) await collect(store, record, logger);
      continue;
    }
    if (record.owner === replicas.identity) {
      // Written like any adoption: another replica may be claiming it too, having seen this pod's
      // Lease expire while it restarted.
      if (
        options.includeOwn &&
        !startedInThisRun(record, options.runStartedAt) &&
        (await store.claim(record.triggeredid, replicas.identity, replicas.identity, record))
      )
        adopted.push(record);
      continue;
    }
    if (record.owner !== undefined && live.has(record.owner)) continue;
    if (await store.claim(record.triggeredid, replicas.identity, record.owner, record)) {
      logger.info('adopted the delivery of a replica that is gone', {
        triggeredid: record.triggeredid,
        shkeptncontext: record.shkeptncontext,
        previousOwner: record.owner,
      });
      adopted.push({ ...record, owner: replicas.identity });
    }
  }
  return adopted;
}

function startedInThisRun(record: DeliveryRecord, runStartedAt: number | undefined): boolean {
  return runStartedAt !== undefined && Date.parse(record.startedAt) >= runStartedAt;
}

/** Deletes an expired tombstone; one that cannot be deleted now is tried again on the next scan. */
async function collect(store: DeliveryStore, record: DeliveryRecord, logger: Logger): Promise<void> {
  try {
    await store.remove(record.triggeredid);
  } catch (err) {
    logger.warn('cannot delete an expired delivery tombstone; will retry', {
      triggeredid: record.triggeredid,
      error: (err as Error).message,
    });
  }
}
