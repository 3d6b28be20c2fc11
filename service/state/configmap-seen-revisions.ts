import { randomUUID } from 'node:crypto';
import { silentLogger, type BackoffOptions, type Logger } from '../../lib/index.js';
import { CONFIGMAPS, type KubeApi } from '../kube/kube-api.js';
import { KubeClient } from '../kube/kube-client.js';
import type { ConfigMap } from '../kube/objects.js';
import { getOrUndefined, isConflict, isNotFound } from '../kube/kube-request.js';
import { MANAGED_BY } from './state-labels.js';
import { RevisionHistory, type SeenRevisionStore } from './seen-revisions.js';

export interface ConfigMapSeenRevisionsOptions {
  kube: KubeApi;
  /** The service's namespace (K8S_NAMESPACE). */
  namespace: string;
  /** INTEGRATION_NAME; the ConfigMap is `<integrationName>-seen-revisions`. */
  integrationName: string;
  /** Attempts on 409 conflicts before giving up; default 8. */
  maxAttempts?: number;
  /** Where retried API calls are logged; default nowhere. */
  logger?: Logger;
  retry?: Partial<BackoffOptions>;
  /**
   * How long one read or write is retried through transient API faults; default 10 s (the notification
   * handler, which calls the store, then tries its decision again).
   */
  callTimeoutMs?: number;
}

/** Annotation holding the id of the last write, so a write whose answer was lost can be recognised. */
const WRITE_ID = 'keptn.sh/seen-revisions-write';

/** The seen-revisions ConfigMap could not be read or written. */
export class SeenRevisionsError extends Error {
  constructor(
    message: string,
    readonly configMap: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SeenRevisionsError';
  }
}

/**
 * Seen revisions kept in a ConfigMap in the service's namespace, so they survive restarts and are
 * shared by replicas. Writes are replaces with the read resourceVersion; a 409 re-reads and retries.
 * Every call goes through the Kubernetes client's retry loop (transient faults until the call's
 * deadline); each write carries its own id, so a write retried after a lost answer (409 on the retry)
 * still counts as this store's.
 */
export class ConfigMapSeenRevisions implements SeenRevisionStore {
  private readonly client: KubeClient;
  private readonly namespace: string;
  readonly name: string;
  private readonly maxAttempts: number;
  private readonly callTimeoutMs: number;

  constructor(options: ConfigMapSeenRevisionsOptions) {
    this.client = new KubeClient({
      kube: options.kube,
      logger: options.logger ?? silentLogger,
      tool: 'kube',
      retry: options.retry,
    });
    this.namespace = options.namespace;
    this.name = `${options.integrationName}-seen-revisions`;
    this.maxAttempts = options.maxAttempts ?? 8;
    this.callTimeoutMs = options.callTimeoutMs ?? 10_000;
  }

  async markIfNew(key: string, revision: string): Promise<boolean> {
    return this.update((data) => {
      const history = RevisionHistory.parse(data[key]);
      if (RevisionHistory.includes(history, revision)) return false;
      data[key] = RevisionHistory.format(RevisionHistory.add(history, revision));
      return true;
    });
  }

  async has(key: string, revision: string): Promise<boolean> {
    const current = await this.read();
    return RevisionHistory.includes(RevisionHistory.parse(current?.data?.[key]), revision);
  }

  async forget(key: string, revision: string): Promise<void> {
    await this.update((data) => {
      const history = RevisionHistory.parse(data[key]);
      if (!RevisionHistory.includes(history, revision)) return false;
      const left = RevisionHistory.remove(history, revision);
      if (left.length > 0) data[key] = RevisionHistory.format(left);
      else delete data[key];
      return true;
    });
  }

  /** Applies `change` to the data and writes it when it reports a change; returns what `change` returned. */
  private async update(change: (data: Record<string, string>) => boolean): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.read();
      const data = { ...(current?.data ?? {}) };
      if (!change(data)) return false;
      const writeId = randomUUID();
      try {
        await this.write(current, data, writeId);
        return true;
      } catch (err) {
        const conflict = isConflict(err) || (isNotFound(err) && current !== undefined);
        if (conflict && (await this.read())?.metadata?.annotations?.[WRITE_ID] === writeId) return true;
        if (!conflict || attempt >= this.maxAttempts) {
          throw new SeenRevisionsError(`cannot write ConfigMap ${this.namespace}/${this.name}`, this.name, {
            cause: err,
          });
        }
      }
    }
  }

  private async read(): Promise<ConfigMap | undefined> {
    try {
      return await getOrUndefined<ConfigMap>(this.client, CONFIGMAPS, this.namespace, this.name, {
        deadline: this.deadline(),
      });
    } catch (err) {
      throw new SeenRevisionsError(`cannot read ConfigMap ${this.namespace}/${this.name}`, this.name, {
        cause: err,
      });
    }
  }

  private async write(
    current: ConfigMap | undefined,
    data: Record<string, string>,
    writeId: string,
  ): Promise<void> {
    const call = { deadline: this.deadline() };
    if (!current) {
      const body: ConfigMap = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: this.name,
          namespace: this.namespace,
          labels: { [MANAGED_BY.key]: MANAGED_BY.value },
          annotations: { [WRITE_ID]: writeId },
        },
        data,
      };
      await this.client.create(CONFIGMAPS, this.namespace, body, call);
      return;
    }
    const metadata = {
      ...current.metadata,
      annotations: { ...current.metadata?.annotations, [WRITE_ID]: writeId },
    };
    await this.client.replace(CONFIGMAPS, this.namespace, this.name, { ...current, metadata, data }, call);
  }

  private deadline(): number {
    return Date.now() + this.callTimeoutMs;
  }
}
