import { abortableSleep, retryWithBackoff, type BackoffOptions } from '../http/backoff.js';
import type { Logger } from '../log.js';
import type { Subscription } from './subscription.js';
import type { Integration, UniformClient } from './uniform-client.js';

/** Hard-coded by the go-sdk "until the Bridge stops requiring it". */
export const DISTRIBUTOR_VERSION = '0.15.0';

export interface RegistrationMetadata {
  hostname: string;
  integrationVersion: string;
  location: string;
  namespace: string;
  podName: string;
  deploymentName: string;
}

export interface UniformRegistrationOptions {
  client: UniformClient;
  /** Integration name (`INTEGRATION_NAME`). */
  name: string;
  metadata: RegistrationMetadata;
  /** Subscriptions for the first registration; afterwards the control plane owns them. */
  subscriptions: Subscription[];
  logger: Logger;
  /** Called with the ping answer's subscriptions whenever they change (and after the first ping). */
  onSubscriptions: (subscriptions: Subscription[]) => void | Promise<void>;
  /** Default 5000 ms. */
  pingIntervalMs?: number;
  /** Backoff for registration attempts; unlimited attempts. */
  retry?: BackoffOptions;
}

/** The body of `POST /v1/uniform/registration` (contract 3.2). */
export function registrationBody(
  name: string,
  m: RegistrationMetadata,
  subscriptions: Subscription[],
): Omit<Integration, 'id'> & { id: string } {
  return {
    id: '',
    name,
    metadata: {
      hostname: m.hostname,
      integrationversion: m.integrationVersion,
      distributorversion: DISTRIBUTOR_VERSION,
      location: m.location,
      kubernetesmetadata: { namespace: m.namespace, podname: m.podName, deploymentname: m.deploymentName },
    },
    subscriptions: subscriptions.map((s) => ({
      id: '',
      event: s.event,
      filter: {
        projects: s.filter?.projects ?? null,
        stages: s.filter?.stages ?? null,
        services: s.filter?.services ?? null,
      },
    })),
  };
}

/**
 * Registers (retrying with backoff instead of dying), then pings every 5 s and hands the live
 * subscriptions on. A ping answered 404 (dropped by the server's TTL) registers again.
 */
export class UniformRegistration {
  private integrationId?: string;
  /** The subscriptions last handed on successfully, as JSON. */
  private appliedKey?: string;
  private readonly lifetime = new AbortController();
  private running?: Promise<void>;
  private firstPing?: { resolve: () => void; promise: Promise<void> };
  private failure?: string;

  constructor(private readonly options: UniformRegistrationOptions) {}

  get id(): string | undefined {
    return this.integrationId;
  }

  /** True once registered and until stopped. */
  get registered(): boolean {
    return this.integrationId !== undefined && !this.lifetime.signal.aborted;
  }

  /** True once a ping answer delivered the subscriptions. */
  get hasSubscriptions(): boolean {
    return this.appliedKey !== undefined;
  }

  /** True when the last ping answer listed no subscription at all. */
  get subscribedToNothing(): boolean {
    return this.appliedKey === '[]';
  }

  /** Why the last registration attempt or ping failed; undefined once one succeeded. */
  get lastError(): string | undefined {
    return this.failure;
  }

  /** Starts registering and pinging in the background; resolves after the first ping was applied. */
  start(): Promise<void> {
    if (!this.running) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.firstPing = { resolve, promise };
      this.running = this.run().catch((err: Error) => {
        if (!this.lifetime.signal.aborted)
          this.options.logger.error('uniform registration stopped', { error: err.message });
      });
    }
    return Promise.race([this.firstPing!.promise, this.running]);
  }

  async stop(): Promise<void> {
    this.lifetime.abort(new Error('registration stopped'));
    await this.running;
  }

  private async run(): Promise<void> {
    const signal = this.lifetime.signal;
    await this.register();
    while (!signal.aborted) {
      await this.pingOnce();
      await abortableSleep(this.options.pingIntervalMs ?? 5000, signal).catch(() => {});
    }
  }

  private async register(): Promise<void> {
    const { client, name, metadata, subscriptions, logger } = this.options;
    const body = registrationBody(name, metadata, subscriptions);
    this.integrationId = await retryWithBackoff(() => client.register(body, this.lifetime.signal), {
      ...this.options.retry,
      signal: this.lifetime.signal,
      onRetry: (err, attempt, delayMs) => {
        this.failure = (err as Error).message;
        logger.warn('uniform registration failed; retrying', { attempt, delayMs, error: this.failure });
      },
    });
    this.failure = undefined;
    logger.info('registered with the Keptn control plane', { integrationId: this.integrationId, name });
  }

  private async pingOnce(): Promise<void> {
    const { client, logger } = this.options;
    try {
      const integration = await client.ping(this.integrationId!, this.lifetime.signal);
      if (!integration) {
        logger.warn('the control plane no longer knows this integration (TTL); registering again', {
          integrationId: this.integrationId,
        });
        await this.register();
        return this.pingOnce();
      }
      await this.apply(integration.subscriptions ?? []);
      this.failure = undefined;
    } catch (err) {
      this.failure = (err as Error).message;
      if (!this.lifetime.signal.aborted)
        logger.warn('uniform ping failed', { integrationId: this.integrationId, error: this.failure });
    }
  }

  private async apply(subscriptions: Subscription[]): Promise<void> {
    const key = JSON.stringify(subscriptions);
    // Remembered only once applied: a change that failed (a JetStream consumer not created) is tried again on
    // the next ping.
    if (key !== this.appliedKey) {
      await this.options.onSubscriptions(subscriptions);
      this.appliedKey = key;
    }
    this.firstPing?.resolve();
  }
}
