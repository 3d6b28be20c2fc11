import { randomUUID } from 'node:crypto';
import {
  DELIVERY_PHASES,
  isExpiredTombstone,
  type DeliveryRecord,
  type DeliveryStore,
} from './delivery-record.js';

/** Records in memory: without a cluster (one replica; records do not survive a restart) and in tests. */
export class MemoryDeliveryStore implements DeliveryStore {
  readonly durable = false;
  private readonly records = new Map<string, DeliveryRecord>();

  constructor(private readonly now: () => number = Date.now) {}

  async create(record: DeliveryRecord): Promise<boolean> {
    this.collect();
    if (this.records.has(record.triggeredid)) return false;
    this.records.set(record.triggeredid, structuredClone(record));
    return true;
  }

  async markStarted(triggeredid: string): Promise<void> {
    const current = this.records.get(triggeredid);
    if (current?.phase === DELIVERY_PHASES.claimed) current.phase = DELIVERY_PHASES.started;
  }

  async finish(record: DeliveryRecord): Promise<void> {
    const current = this.records.get(record.triggeredid);
    if (current)
      this.records.set(record.triggeredid, {
        ...current,
        phase: DELIVERY_PHASES.finished,
        finishedAt: new Date(this.now()).toISOString(),
      });
  }

  async remove(triggeredid: string): Promise<void> {
    this.records.delete(triggeredid);
  }

  async list(): Promise<DeliveryRecord[]> {
    return [...this.records.values()].map((r) => structuredClone(r));
  }

  async ownerOf(triggeredid: string): Promise<string | undefined | null> {
    const record = this.records.get(triggeredid);
    return record ? record.owner : null;
  }

  async claim(
    triggeredid: string,
    newOwner: string,
    expectedOwner: string | undefined,
    read?: Pick<DeliveryRecord, 'claim'>,
  ): Promise<boolean> {
    const record = this.records.get(triggeredid);
    if (!record || record.owner !== expectedOwner || (read && record.claim !== read.claim)) return false;
    record.owner = newOwner;
    record.claim = randomUUID();
    return true;
  }

  /** Drops expired tombstones (there is no adopter to collect them without a cluster). */
  private collect(): void {
    const now = this.now();
    for (const [id, record] of this.records) if (isExpiredTombstone(record, now)) this.records.delete(id);
  }
}
