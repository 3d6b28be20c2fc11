import type { BackoffOptions, Logger } from '../../lib/index.js';
import { LEASES, type KubeApi } from '../kube/kube-api.js';
import { KubeClient, systemClock, type Clock } from '../kube/kube-client.js';
import type { Lease } from '../kube/objects.js';
import { getOrUndefined, isConflict, isNotFound } from '../kube/kube-request.js';
import { isLeaseHeld, leaseFor } from './lease-time.js';
import { objectName } from '../state/object-name.js';
import { Repeater } from './repeat.js';
import { labelSelector, stateLabels } from '../state/state-labels.js';

export interface ReplicaLeaseOptions {
  kube: KubeApi;
  /** The service's namespace (K8S_NAMESPACE). */
  namespace: string;
  /** INTEGRATION_NAME; leases are `<integrationName>-replica-<podName>`. */
  integrationName: string;
  /** This replica (K8S_POD_NAME); it is the lease's holderIdentity and the owner of its records. */
  podName: string;
  /** How often the lease is renewed; default 10 s. */
  renewMs?: number;
  /** How long a lease outlives its last renewal; default 30 s. */
  leaseDurationSeconds?: number;
  logger: Logger;
  clock?: Clock;
  retry?: Partial<BackoffOptions>;
}

/**
 * One Lease per running replica, renewed while the replica lives. Other replicas read them to
 * tell a dead replica's delivery records (owner not alive) from a live one's, and adopt the former.
 * Every call goes through the Kubernetes client's retry loop, a renewal until the next one is due.
 */
export class ReplicaLease {
  readonly identity: string;
  readonly leaseName: string;
  private readonly client: KubeClient;
  private readonly namespace: string;
  private readonly integrationName: string;
  private readonly renewMs: number;
  private readonly leaseDurationSeconds: number;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly repeater: Repeater;

  constructor(options: ReplicaLeaseOptions) {
    this.namespace = options.namespace;
    this.integrationName = options.integrationName;
    this.identity = options.podName;
    this.leaseName = objectName(this.prefix, options.podName);
    this.renewMs = options.renewMs ?? 10_000;
    this.leaseDurationSeconds = options.leaseDurationSeconds ?? 30;
    this.logger = options.logger.child({ lease: this.leaseName });
    this.clock = options.clock ?? systemClock;
    this.client = new KubeClient({
      kube: options.kube,
      logger: this.logger,
      tool: 'kube',
      retry: options.retry,
      clock: this.clock,
    });
    this.repeater = new Repeater(`replica lease ${this.leaseName}`, {
      intervalMs: this.renewMs,
      tick: (signal) => this.renew(signal),
      onError: (err) => this.logger.warn('cannot renew the replica lease', { error: (err as Error).message }),
    });
  }

  /**
   * Writes the lease (throws a KubeApiError when it cannot), then renews it in the background until
   * `stop()`. Aborting `signal` ends the renewals without removing the lease, as a crash would.
   */
  start(signal?: AbortSignal): Promise<void> {
    return this.repeater.start(signal);
  }

  /** Ends the renewals and deletes the lease, so the other replicas see at once that this one is gone. */
  async stop(signal?: AbortSignal): Promise<void> {
    if (!(await this.repeater.stop())) return;
    try {
      await this.client.delete(LEASES, this.namespace, this.leaseName, { signal, deadline: this.deadline() });
    } catch (err) {
      if (!isNotFound(err))
        this.logger.warn('cannot delete the replica lease; it will expire', {
          error: (err as Error).message,
        });
    }
  }

  /** Identities of the replicas whose lease has not expired (this one included while it runs). */
  async liveReplicas(signal?: AbortSignal): Promise<Set<string>> {
    const list = await this.client.list<Lease>(LEASES, this.namespace, {
      signal,
      deadline: this.deadline(),
      labelSelector: labelSelector(stateLabels(this.integrationName)),
    });
    const now = this.clock.now();
    const live = new Set<string>();
    for (const lease of list.items) {
      if (!lease.metadata?.name?.startsWith(`${this.prefix}-`)) continue;
      if (isLeaseHeld(lease, now)) live.add(lease.spec!.holderIdentity!);
    }
    return live;
  }

  /** Whether the replica `identity` holds an unexpired lease. */
  async isAlive(identity: string, signal?: AbortSignal): Promise<boolean> {
    const name = objectName(this.prefix, identity);
    const lease = await this.read(name, signal);
    return (
      lease !== undefined && lease.spec?.holderIdentity === identity && isLeaseHeld(lease, this.clock.now())
    );
  }

  /**
   * Only this replica writes its lease, so a 409 means an earlier try of this renewal was carried out
   * though its answer was lost: the lease is read and written once more.
   */
  private async renew(signal: AbortSignal): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.write(signal);
        return;
      } catch (err) {
        if (!isConflict(err) || attempt >= 2) throw err;
      }
    }
  }

  private async write(signal: AbortSignal): Promise<void> {
    const now = this.clock.now();
    const current = await this.read(this.leaseName, signal);
    const body = leaseFor(current, {
      name: this.leaseName,
      namespace: this.namespace,
      integrationName: this.integrationName,
      holder: this.identity,
      durationSeconds: this.leaseDurationSeconds,
      now,
    });
    const call = { signal, deadline: this.deadline() };
    if (!current) await this.client.create(LEASES, this.namespace, body, call);
    else await this.client.replace(LEASES, this.namespace, this.leaseName, body, call);
  }

  private read(name: string, signal: AbortSignal | undefined): Promise<Lease | undefined> {
    return getOrUndefined<Lease>(this.client, LEASES, this.namespace, name, {
      signal,
      deadline: this.deadline(),
    });
  }

  /** Calls are retried until the next renewal is due. */
  private deadline(): number {
    return this.clock.now() + this.renewMs;
  }

  private get prefix(): string {
    return `${this.integrationName}-replica`;
  }
}
