import { randomUUID } from 'node:crypto';
import type { BackoffOptions, Logger } from '../../lib/index.js';
import { CONFIGMAPS, type KubeApi } from '../kube/kube-api.js';
import { KubeClient, type KubeCallOptions } from '../kube/kube-client.js';
import type { ConfigMap } from '../kube/objects.js';
import type { ServiceMetrics } from '../metrics.js';
import { getOrUndefined, isConflict, isNotFound } from '../kube/kube-request.js';
import {
  DELIVERY_PHASES,
  decodeDelivery,
  encodeDelivery,
  type DeliveryRecord,
  type DeliveryStore,
} from './delivery-record.js';
import { objectName } from './object-name.js';
import { DELIVERY_LABEL, labelSelector, stateLabels } from './state-labels.js';

export interface ConfigMapDeliveryStoreOptions {
  kube: KubeApi;
  /** The service's namespace (K8S_NAMESPACE). */
  namespace: string;
  /** INTEGRATION_NAME; records are `<integrationName>-delivery-<triggeredid>`. */
  integrationName: string;
  /** This replica's identity, written as the owner of records created without one. */
  owner?: string;
  logger: Logger;
  metrics?: ServiceMetrics;
  retry?: Partial<BackoffOptions>;
  /** How long a read, claim or delete is retried; default 30 s. */
  callTimeoutMs?: number;
  /** How long recording a sent `.finished` is retried; default 10 min. */
  finishTimeoutMs?: number;
}

const RECORD_KEY = 'record';

/**
 * Delivery records, one ConfigMap each, labelled so that any replica lists them with one selector.
 * Data key `record` holds the record as JSON. Every call goes through the Kubernetes client's retry
 * loop: transient faults are retried until the call's deadline.
 */
export class ConfigMapDeliveryStore implements DeliveryStore {
  readonly durable = true;
  private readonly client: KubeClient;
  private readonly namespace: string;
  private readonly integrationName: string;
  private readonly owner?: string;
  private readonly logger: Logger;
  private readonly callTimeoutMs: number;
  private readonly finishTimeoutMs: number;

  constructor(options: ConfigMapDeliveryStoreOptions) {
    this.client = new KubeClient({
      kube: options.kube,
      logger: options.logger,
      metrics: options.metrics,
      tool: 'kube',
      retry: options.retry,
    });
    this.namespace = options.namespace;
    this.integrationName = options.integrationName;
    this.owner = options.owner;
    this.logger = options.logger;
    this.callTimeoutMs = options.callTimeoutMs ?? 30_000;
    this.finishTimeoutMs = options.finishTimeoutMs ?? 10 * 60_000;
  }

  /** The ConfigMap that holds the record of `triggeredid`. */
  configMapName(triggeredid: string): string {
    return objectName(`${this.integrationName}-delivery`, triggeredid);
  }

  /**
   * One create. A 409 means the trigger has a record; when this create was retried after a lost
   * response, that record may be our own: its `claim` id tells.
   */
  async create(
    record: DeliveryRecord,
    options: { deadline?: number; signal?: AbortSignal } = {},
  ): Promise<boolean> {
    const name = this.configMapName(record.triggeredid);
    const owner = record.owner ?? this.owner;
    const body = this.configMap(name, { ...record, ...(owner === undefined ? {} : { owner }) }, undefined);
    const call = { deadline: options.deadline ?? this.deadline(), signal: options.signal };
    try {
      await this.client.create(CONFIGMAPS, this.namespace, body, call);
      return true;
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
    if (record.claim === undefined) return false;
    const current = await this.read(name, call);
    return current !== undefined && this.decode(current)?.claim === record.claim;
  }

  /**
   * Read and replace (with its resourceVersion, so a concurrent claim or finish is never undone):
   * only a `claimed` record becomes `started`.
   */
  async markStarted(triggeredid: string): Promise<void> {
    const name = this.configMapName(triggeredid);
    const deadline = this.deadline();
    for (;;) {
      const current = await this.read(name, { deadline });
      const record = current && this.decode(current);
      if (!current || !record || record.phase !== DELIVERY_PHASES.claimed) return;
      try {
        await this.client.replace(
          CONFIGMAPS,
          this.namespace,
          name,
          this.configMap(name, { ...record, phase: DELIVERY_PHASES.started }, current),
          { deadline },
        );
        return;
      } catch (err) {
        if (isNotFound(err)) return;
        if (!isConflict(err) || Date.now() > deadline) throw err;
      }
    }
  }

  /**
   * One merge patch of the record's text; repeated as often as it takes, since a lost one would let the
   * trigger be answered again.
   */
  async finish(record: DeliveryRecord): Promise<void> {
    const name = this.configMapName(record.triggeredid);
    const finished: DeliveryRecord = {
      ...record,
      phase: DELIVERY_PHASES.finished,
      finishedAt: new Date().toISOString(),
    };
    try {
      await this.client.patchMerge(
        CONFIGMAPS,
        this.namespace,
        name,
        { data: { [RECORD_KEY]: encodeDelivery(finished) } },
        { deadline: Date.now() + this.finishTimeoutMs, retryOnConflict: true },
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async remove(triggeredid: string): Promise<void> {
    try {
      await this.client.delete(CONFIGMAPS, this.namespace, this.configMapName(triggeredid), {
        deadline: this.deadline(),
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Every record of this integration; one that cannot be read is logged and left out. */
  async list(): Promise<DeliveryRecord[]> {
    const list = await this.client.list<ConfigMap>(CONFIGMAPS, this.namespace, {
      labelSelector: labelSelector(this.labels()),
      deadline: this.deadline(),
    });
    const records: DeliveryRecord[] = [];
    for (const cm of list.items) {
      const record = this.decode(cm);
      if (record) records.push(record);
    }
    return records;
  }

  async ownerOf(triggeredid: string): Promise<string | undefined | null> {
    const current = await this.read(this.configMapName(triggeredid), { deadline: this.deadline() });
    return current ? (this.decode(current)?.owner ?? undefined) : null;
  }

  async claim(
    triggeredid: string,
    newOwner: string,
    expectedOwner: string | undefined,
    read?: Pick<DeliveryRecord, 'claim'>,
  ): Promise<boolean> {
    const name = this.configMapName(triggeredid);
    const current = await this.read(name, { deadline: this.deadline() });
    const record = current && this.decode(current);
    if (!current || !record || record.owner !== expectedOwner || (read && record.claim !== read.claim))
      return false;
    const body = this.configMap(name, { ...record, owner: newOwner, claim: randomUUID() }, current);
    try {
      await this.client.replace(CONFIGMAPS, this.namespace, name, body, { deadline: this.deadline() });
      return true;
    } catch (err) {
      if (isConflict(err) || isNotFound(err)) return false;
      throw err;
    }
  }

  private deadline(): number {
    return Date.now() + this.callTimeoutMs;
  }

  private read(name: string, call: KubeCallOptions): Promise<ConfigMap | undefined> {
    return getOrUndefined<ConfigMap>(this.client, CONFIGMAPS, this.namespace, name, call);
  }

  private decode(cm: ConfigMap): DeliveryRecord | undefined {
    const decoded = decodeDelivery(cm.data?.[RECORD_KEY]);
    if (typeof decoded === 'string') {
      this.logger.warn('ignoring an unreadable delivery record', {
        configMap: `${this.namespace}/${cm.metadata?.name}`,
        problem: decoded,
      });
      return undefined;
    }
    return decoded;
  }

  /** `current`'s metadata (with its resourceVersion, so a concurrent write gets 409) and the record. */
  private configMap(name: string, record: DeliveryRecord, current: ConfigMap | undefined): ConfigMap {
    return {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        ...current?.metadata,
        name,
        namespace: this.namespace,
        labels: { ...current?.metadata?.labels, ...this.labels() },
      },
      data: { [RECORD_KEY]: encodeDelivery(record) },
    };
  }

  private labels(): Record<string, string> {
    return { ...stateLabels(this.integrationName), [DELIVERY_LABEL]: 'true' };
  }
}
