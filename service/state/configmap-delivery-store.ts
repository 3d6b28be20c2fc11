import type { Logger } from '../../lib/index.js';
import type { DeliveryStore } from '../deployers/delivery-store.js';
import { CONFIGMAPS, type KubeApi } from '../kube/kube-api.js';
import type { ConfigMap } from '../kube/objects.js';
import { getOrUndefined, isConflict, isNotFound } from './kube-request.js';
import { decodeDelivery, encodeDelivery, type OwnedDelivery } from './owned-delivery.js';
import { objectName } from './object-name.js';
import { DELIVERY_LABEL, labelSelector, stateLabels } from './state-labels.js';

export interface ConfigMapDeliveryStoreOptions {
  kube: KubeApi;
  /** The service's namespace (K8S_NAMESPACE). */
  namespace: string;
  /** INTEGRATION_NAME; records are `<integrationName>-delivery-<triggeredid>`. */
  integrationName: string;
  /** This replica's identity, written as the owner of records saved without one. */
  owner?: string;
  logger: Logger;
  /** Attempts of a save that keeps meeting 409 from concurrent writers; default 5. */
  maxAttempts?: number;
}

/** A DeliveryStore whose records name the replica that follows them, and can change hands. */
export interface OwnedDeliveryStore extends DeliveryStore {
  save(record: OwnedDelivery): Promise<void>;
  list(): Promise<OwnedDelivery[]>;
  /**
   * Makes `newOwner` the owner if the owner is still `expectedOwner` (`undefined`: no owner), with
   * optimistic concurrency: of two replicas claiming the same record, exactly one gets true.
   */
  claim(triggeredid: string, newOwner: string, expectedOwner: string | undefined): Promise<boolean>;
  ownerOf(triggeredid: string): Promise<string | undefined | null>;
}

const RECORD_KEY = 'record';

/**
 * Durable delivery records, one ConfigMap each, labelled so that a restarted or surviving replica
 * lists them with one selector. Data key `record` holds the record as JSON.
 */
export class ConfigMapDeliveryStore implements OwnedDeliveryStore {
  private readonly api: KubeApi;
  private readonly namespace: string;
  private readonly integrationName: string;
  private readonly owner?: string;
  private readonly logger: Logger;
  private readonly maxAttempts: number;

  constructor(options: ConfigMapDeliveryStoreOptions) {
    this.api = options.kube;
    this.namespace = options.namespace;
    this.integrationName = options.integrationName;
    this.owner = options.owner;
    this.logger = options.logger;
    this.maxAttempts = options.maxAttempts ?? 5;
  }

  /** The ConfigMap that holds the record of `triggeredid`. */
  configMapName(triggeredid: string): string {
    return objectName(`${this.integrationName}-delivery`, triggeredid);
  }

  /** Creates or overwrites the record; without an owner it keeps the stored one, else this replica. */
  async save(record: OwnedDelivery): Promise<void> {
    const name = this.configMapName(record.triggeredid);
    for (let attempt = 1; ; attempt++) {
      const current = await this.read(name);
      const owner = record.owner ?? (current && this.decode(current)?.owner) ?? this.owner;
      const body = this.configMap(name, { ...record, ...(owner === undefined ? {} : { owner }) }, current);
      try {
        if (current) await this.api.replace(CONFIGMAPS, this.namespace, name, body);
        else await this.api.create(CONFIGMAPS, this.namespace, body);
        return;
      } catch (err) {
        if (!(isConflict(err) || (isNotFound(err) && current)) || attempt >= this.maxAttempts) throw err;
      }
    }
  }

  /** Creates the record; false when the trigger has one already. One request, where `save` needs two. */
  async add(record: OwnedDelivery): Promise<boolean> {
    const name = this.configMapName(record.triggeredid);
    const owner = record.owner ?? this.owner;
    try {
      await this.api.create(CONFIGMAPS, this.namespace, this.configMap(name, { ...record, ...(owner === undefined ? {} : { owner }) }, undefined));
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }

  async remove(triggeredid: string): Promise<void> {
    const name = this.configMapName(triggeredid);
    try {
      await this.api.delete(CONFIGMAPS, this.namespace, name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Every record of this integration; one that cannot be read is logged and left out. */
  async list(): Promise<OwnedDelivery[]> {
    const list = await this.api.list<ConfigMap>(CONFIGMAPS, this.namespace, { labelSelector: labelSelector(this.labels()) });
    const records: OwnedDelivery[] = [];
    for (const cm of list.items) {
      const record = this.decode(cm);
      if (record) records.push(record);
    }
    return records;
  }

  async ownerOf(triggeredid: string): Promise<string | undefined | null> {
    const current = await this.read(this.configMapName(triggeredid));
    return current ? (this.decode(current)?.owner ?? undefined) : null;
  }

  async claim(triggeredid: string, newOwner: string, expectedOwner: string | undefined): Promise<boolean> {
    const name = this.configMapName(triggeredid);
    const current = await this.read(name);
    const record = current && this.decode(current);
    if (!current || !record || record.owner !== expectedOwner) return false;
    const body = this.configMap(name, { ...record, owner: newOwner }, current);
    try {
      await this.api.replace(CONFIGMAPS, this.namespace, name, body);
      return true;
    } catch (err) {
      if (isConflict(err) || isNotFound(err)) return false;
      throw err;
    }
  }

  private read(name: string): Promise<ConfigMap | undefined> {
    return getOrUndefined<ConfigMap>(this.api, CONFIGMAPS, this.namespace, name);
  }

  private decode(cm: ConfigMap): OwnedDelivery | undefined {
    const decoded = decodeDelivery(cm.data?.[RECORD_KEY]);
    if (typeof decoded === 'string') {
      this.logger.warn('ignoring an unreadable delivery record', { configMap: `${this.namespace}/${cm.metadata?.name}`, problem: decoded });
      return undefined;
    }
    return decoded;
  }

  /** `current`'s metadata (with its resourceVersion, so a concurrent write gets 409) and the record. */
  private configMap(name: string, record: OwnedDelivery, current: ConfigMap | undefined): ConfigMap {
    return {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { ...current?.metadata, name, namespace: this.namespace, labels: { ...current?.metadata?.labels, ...this.labels() } },
      data: { [RECORD_KEY]: encodeDelivery(record) },
    };
  }

  private labels(): Record<string, string> {
    return { ...stateLabels(this.integrationName), [DELIVERY_LABEL]: 'true' };
  }
}
