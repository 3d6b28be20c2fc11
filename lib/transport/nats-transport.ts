import { connect, type NatsConnection, type Subscription as NatsSubscription } from '@nats-io/transport-node';
import { encodeKeptnEvent } from '../events/codec.js';
import type { KeptnEvent } from '../events/types.js';
import type { Logger } from '../log.js';
import type { Subscription } from '../uniform/subscription.js';
import { NatsOutbox } from './outbox.js';
import { sameSubjects, subjectsOf, type EventSink, type EventSource, type IncomingMessage } from './transport.js';

export interface NatsTransportOptions {
  /** NATS URL(s), e.g. `EVENTBROKER`. */
  servers: string | string[];
  /** Integration name: queue group and connection name. */
  name: string;
  logger: Logger;
  /** Pause between reconnect attempts; default 2000 ms (tests shrink it). */
  reconnectTimeWaitMs?: number;
  /** Pause before re-sending after a failed flush; default 50 ms. */
  publishRetryDelayMs?: number;
}

/**
 * Core NATS: queue-subscribes to the subscription subjects (group = integration name) and
 * publishes answers with subject = type. Reconnects forever; publishes survive outages.
 */
export class NatsTransport implements EventSource, EventSink {
  readonly kind = 'nats';
  private subjects: string[] = [];
  private subs: NatsSubscription[] = [];
  private deliver?: (message: IncomingMessage) => void;
  private readonly outbox: NatsOutbox;
  private connected = true;
  private intakeStopped = false;

  private constructor(
    readonly connection: NatsConnection,
    private readonly options: NatsTransportOptions,
  ) {
    this.outbox = new NatsOutbox(connection, { retryDelayMs: options.publishRetryDelayMs });
    void this.watchStatus();
  }

  /** Connects (waiting for the first connection as long as it takes, or until `signal` aborts). */
  static async connect(options: NatsTransportOptions, signal?: AbortSignal): Promise<NatsTransport> {
    const pending = connect({
      servers: options.servers,
      name: options.name,
      maxReconnectAttempts: -1,
      waitOnFirstConnect: true,
      reconnectTimeWait: options.reconnectTimeWaitMs ?? 2000,
    });
    if (!signal) return new NatsTransport(await pending, options);
    const aborted = new Promise<never>((_, reject) => {
      if (signal.aborted) reject(signal.reason);
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
    aborted.catch(() => {});
    pending.then(async (nc) => {
      if (signal.aborted) await nc.close();
    }).catch(() => {});
    return new NatsTransport(await Promise.race([pending, aborted]), options);
  }

  async start(deliver: (message: IncomingMessage) => void): Promise<void> {
    this.deliver = deliver;
    this.intakeStopped = false;
    this.subscribeAll();
    await this.connection.flush().catch(() => {});
  }

  /**
   * Resubscribes only when the set of subjects changed; resolves once the server has the new
   * subscriptions (a PING/PONG after the SUBs).
   */
  async setSubscriptions(subscriptions: readonly Subscription[]): Promise<void> {
    const next = subjectsOf(subscriptions);
    if (!sameSubjects(next, this.subjects)) {
      this.subjects = next;
      this.options.logger.info('NATS subjects changed', { subjects: next });
      if (this.deliver && !this.intakeStopped) this.subscribeAll();
    }
    await this.connection.flush().catch(() => {});
  }

  isSubscribed(): boolean {
    return this.connected && !this.intakeStopped && this.subs.length > 0;
  }

  async stop(): Promise<void> {
    this.intakeStopped = true;
    this.unsubscribeAll();
  }

  publish(event: KeptnEvent): Promise<void> {
    return this.outbox.publish(event.type, encodeKeptnEvent(event));
  }

  /** Waits (up to `deadlineMs`) for queued publishes, then drains and closes the connection. */
  async close(deadlineMs = 5000): Promise<void> {
    this.intakeStopped = true;
    await this.outbox.idle(AbortSignal.timeout(deadlineMs));
    if (this.connection.isClosed()) return;
    await this.connection.drain().catch(() => this.connection.close());
    this.outbox.failAll('the NATS connection was closed');
  }

  private subscribeAll(): void {
    this.unsubscribeAll();
    for (const subject of this.subjects) {
      const sub = this.connection.subscribe(subject, { queue: this.options.name });
      this.subs.push(sub);
      void this.read(sub, subject);
    }
  }

  private async read(sub: NatsSubscription, subject: string): Promise<void> {
    for await (const msg of sub) this.deliver?.({ data: msg.data, subject });
  }

  private unsubscribeAll(): void {
    for (const s of this.subs.splice(0)) s.unsubscribe();
  }

  private async watchStatus(): Promise<void> {
    for await (const s of this.connection.status()) {
      if (s.type === 'disconnect') {
        this.connected = false;
        this.options.logger.warn('NATS disconnected; reconnecting', { server: s.server });
      } else if (s.type === 'reconnect') {
        this.connected = true;
        this.options.logger.info('NATS reconnected', { server: s.server });
      }
    }
  }
}
