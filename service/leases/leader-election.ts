import type { BackoffOptions, Logger } from '../../lib/index.js';
import { LEASES, type KubeApi } from '../kube/kube-api.js';
import { KubeClient, systemClock, type Clock } from '../kube/kube-client.js';
import { KubeApiError } from '../kube/kube-errors.js';
import type { Lease, LeaseSpec } from '../kube/objects.js';
import { getOrUndefined, isConflict, isNotFound } from '../kube/kube-request.js';
import { isLeaseHeld, leaseFor, microTime } from './lease-time.js';
import { Repeater } from './repeat.js';

export interface LeaderElectionOptions {
  kube: KubeApi;
  /** The service's namespace (K8S_NAMESPACE). */
  namespace: string;
  /** INTEGRATION_NAME; the lease is `<integrationName>-poller`. */
  integrationName: string;
  /** This replica (K8S_POD_NAME), written as the lease's holderIdentity. */
  identity: string;
  /** How long the lease outlives the leader's last renewal; default 15 s. */
  leaseDurationSeconds?: number;
  /** How often the leader renews; default 5 s. */
  renewMs?: number;
  /** How often a standby tries to acquire; default 2 s. */
  retryMs?: number;
  /**
   * A leader that could not renew for this long steps down before its lease can expire, so two
   * replicas never poll at once; default two thirds of the lease duration.
   */
  renewDeadlineMs?: number;
  logger: Logger;
  clock?: Clock;
  retry?: Partial<BackoffOptions>;
}

export type LeadershipListener = (leader: boolean) => void;

/**
 * Leader election on the Lease `<integrationName>-poller`, as client-go's leaderelection does it:
 * every write carries the read resourceVersion, so of two replicas acquiring at once one gets 409
 * and stays standby. In remote mode only the leader polls the Keptn API.
 */
export class LeaderElection {
  readonly identity: string;
  readonly leaseName: string;
  private readonly client: KubeClient;
  private readonly namespace: string;
  private readonly integrationName: string;
  private readonly leaseDurationSeconds: number;
  private readonly renewMs: number;
  private readonly retryMs: number;
  private readonly renewDeadlineMs: number;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly listeners = new Set<LeadershipListener>();
  private leader = false;
  private renewedAt = 0;
  private readonly repeater: Repeater;

  constructor(options: LeaderElectionOptions) {
    this.namespace = options.namespace;
    this.integrationName = options.integrationName;
    this.identity = options.identity;
    this.leaseName = `${options.integrationName}-poller`;
    this.leaseDurationSeconds = options.leaseDurationSeconds ?? 15;
    this.renewMs = options.renewMs ?? 5_000;
    this.retryMs = options.retryMs ?? 2_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? (this.leaseDurationSeconds * 1000 * 2) / 3;
    this.logger = options.logger.child({ lease: this.leaseName, identity: this.identity });
    this.clock = options.clock ?? systemClock;
    this.client = new KubeClient({
      kube: options.kube,
      logger: this.logger,
      tool: 'kube',
      retry: options.retry,
      clock: this.clock,
    });
    this.repeater = new Repeater(`leader election on ${this.leaseName}`, {
      intervalMs: () => (this.leader ? this.renewMs : this.retryMs),
      tick: (signal) => this.attempt(signal),
      onError: () => {},
      onEnd: () => this.setLeader(false),
    });
  }

  isLeader(): boolean {
    return this.leader;
  }

  /** Called with `true` on becoming leader and `false` on losing it; returns the unsubscribe. */
  onChange(listener: LeadershipListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Makes the first attempt, then keeps acquiring (standby) or renewing (leader) in the background
   * until `stop()`. Aborting `signal` ends that without releasing the lease, as a crash would.
   */
  start(signal?: AbortSignal): Promise<void> {
    return this.repeater.start(signal);
  }

  /** Ends the election; a leader releases the lease so that a standby takes over at once. */
  async stop(signal?: AbortSignal): Promise<void> {
    if (!(await this.repeater.stop())) return;
    try {
      await this.release(signal);
    } catch (err) {
      this.logger.warn('cannot release the poller lease; a standby takes over when it expires', {
        error: (err as Error).message,
      });
    }
  }

  private async attempt(signal: AbortSignal): Promise<void> {
    try {
      const held = await this.tryAcquireOrRenew(signal);
      if (held) this.renewedAt = this.clock.now();
      this.setLeader(held);
    } catch (err) {
      if (signal.aborted) return;
      this.logger.warn('cannot acquire or renew the poller lease', {
        error: (err as Error).message,
        leader: this.leader,
      });
      // A transient failure reached the caller only once the renew deadline came.
      const pastDeadline = this.clock.now() - this.renewedAt >= this.renewDeadlineMs;
      if (this.leader && (pastDeadline || (err instanceof KubeApiError && err.transient)))
        this.setLeader(false);
    }
  }

  /** true when this replica holds the lease after the call; false when another one does or won the race. */
  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const now = this.clock.now();
    const current = await this.read(signal);
    if (!current) return this.write('create', this.newLease(undefined, now), signal);
    const holder = current.spec?.holderIdentity;
    if (holder && holder !== this.identity && isLeaseHeld(current, now)) return false;
    return this.write('update', this.newLease(current, now), signal);
  }

  private newLease(current: Lease | undefined, now: number): Lease {
    const stillOurs = current?.spec?.holderIdentity === this.identity;
    const lease = this.lease(current, now);
    return {
      ...lease,
      spec: {
        ...lease.spec,
        leaseTransitions: current ? (current.spec?.leaseTransitions ?? 0) + (stillOurs ? 0 : 1) : 0,
      },
    };
  }

  /** Empties the holder (client-go's ReleaseOnCancel) when this replica still holds the lease. */
  private async release(signal?: AbortSignal): Promise<void> {
    const current = await this.read(signal);
    if (current?.spec?.holderIdentity !== this.identity) return;
    const now = this.clock.now();
    const spec: LeaseSpec = {
      leaseDurationSeconds: 1,
      acquireTime: current.spec.acquireTime,
      renewTime: microTime(now),
      leaseTransitions: current.spec.leaseTransitions ?? 0,
    };
    // The lease's metadata with the holder emptied.
    if (await this.write('update', { ...this.lease(current, now), spec }, signal)) {
      this.logger.info('released the poller lease');
    }
  }

  /** The lease held by this replica as of `now`, written over `current`. */
  private lease(current: Lease | undefined, now: number): Lease {
    return leaseFor(current, {
      name: this.leaseName,
      namespace: this.namespace,
      integrationName: this.integrationName,
      holder: this.identity,
      durationSeconds: this.leaseDurationSeconds,
      now,
    });
  }

  private read(signal: AbortSignal | undefined): Promise<Lease | undefined> {
    return getOrUndefined<Lease>(this.client, LEASES, this.namespace, this.leaseName, {
      signal,
      deadline: this.deadline(),
    });
  }

  /**
   * false on 409 (another replica wrote first) and on 404 (the lease was deleted meanwhile). A 409
   * can also answer the retry of this very write, carried out though its answer was lost: the lease
   * then holds this write's holder and renewTime.
   */
  private async write(
    verb: 'create' | 'update',
    body: Lease,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    const call = { signal, deadline: this.deadline() };
    try {
      if (verb === 'create') await this.client.create(LEASES, this.namespace, body, call);
      else await this.client.replace(LEASES, this.namespace, this.leaseName, body, call);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      if (!isConflict(err)) throw err;
      const now = await this.read(signal);
      return (
        now?.spec?.holderIdentity === body.spec?.holderIdentity &&
        now?.spec?.renewTime === body.spec?.renewTime
      );
    }
  }

  /** A leader's calls are retried until its renew deadline, a standby's until its next try. */
  private deadline(): number {
    return this.leader ? this.renewedAt + this.renewDeadlineMs : this.clock.now() + this.retryMs;
  }

  private setLeader(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    this.logger.info(leader ? 'became the poller leader' : 'is no longer the poller leader');
    for (const listener of [...this.listeners]) {
      try {
        listener(leader);
      } catch (err) {
        this.logger.error('a leadership listener failed', { error: (err as Error).message });
      }
    }
  }
}
