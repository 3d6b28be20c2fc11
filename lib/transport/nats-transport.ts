import { connect, type NatsConnection, type Subscription as NatsSubscription } from '@nats-io/transport-node';
import { encodeKeptnEvent } from '../events/codec.js';
import { retryWithBackoff } from '../http/backoff.js';
import type { KeptnEvent } from '../events/types.js';
import type { Logger } from '../log.js';
import type { Subscription } from '../uniform/subscription.js';
import { NatsOutbox } from './outbox.js';
import {
  sameSubjects,
  subjectsOf,
  type EventSink,
  type EventSource,
  type IncomingMessage,
} from './transport.js';

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
  /** How long one connection attempt may take; default 5000 ms. */
  connectTimeoutMs?: number;
  /** Told the reason of every failed first-connection attempt (e.g. for `/ready`'s body). */
  onConnectFailure?: (error: string) => void;
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
  private readonly reconnectListeners = new Set<() => void>();
  private intakeStopped = false;

  private constructor(
    readonly connection: NatsConnection,
    private readonly options: NatsTransportOptions,
  ) {
    this.outbox = new NatsOutbox(connection, { retryDelayMs: options.publishRetryDelayMs });
    void this.watchStatus();
  }

  /**
   * Connects, trying again with backoff for as long as it takes (or until `signal` aborts). Every
   * failed attempt is logged with the address and the reason; the backoff (up to 30 s) limits the rate.
   */
  static async connect(options: NatsTransportOptions, signal?: AbortSignal): Promise<NatsTransport> {
    const nc = await retryWithBackoff(
      async () => {
        const connection = await connect({
          servers: options.servers,
          name: options.name,
          timeout: options.connectTimeoutMs ?? 5000,
          maxReconnectAttempts: -1,
          reconnectTimeWait: options.reconnectTimeWaitMs ?? 2000,
        });
        if (signal?.aborted) {
          await connection.close();
          throw signal.reason;
        }
        return connection;
      },
      {
        initialMs: options.reconnectTimeWaitMs ?? 2000,
        maxMs: 30_000,
        signal,
        onRetry: (err, attempt, delayMs) => {
          const error = describeConnectError(err);
          options.onConnectFailure?.(error);
          options.logger.warn('cannot connect to NATS; retrying', {
            server: String(options.servers),
            error,
            attempt,
            retryInMs: delayMs,
          });
        },
      },
    );
    return new NatsTransport(nc, options);
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

  /**
   * An answer to a task trigger carries `Nats-Msg-Id` `<source>/<triggeredid>/<type>`: the `keptn`
   * stream shipyard-controller reads stores one per id within its duplicate window (2 min by
   * default), so the same answer sent again (an outbox replay after a reconnect, an adopter's after
   * a crash) reaches shipyard-controller once.
   */
  publish(event: KeptnEvent): Promise<void> {
    return this.outbox.publish(event.type, encodeKeptnEvent(event), answerMsgId(event));
  }

  /** Called after every reconnect (the subscriptions are back on the server). */
  onReconnect(listener: () => void): void {
    this.reconnectListeners.add(listener);
  }

  stalledForMs(): number {
    return this.outbox.stalledForMs();
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
    let since = 0;
    let attempts = 0;
    let lastLog = 0;
    for await (const s of this.connection.status()) {
      if (s.type === 'disconnect') {
        this.connected = false;
        [since, attempts, lastLog] = [Date.now(), 0, Date.now()];
        this.options.logger.warn('NATS disconnected; reconnecting', { server: s.server });
      } else if (s.type === 'reconnecting') {
        attempts++;
        if (Date.now() - lastLog >= STILL_RECONNECTING_LOG_MS) {
          lastLog = Date.now();
          this.options.logger.warn('NATS still unreachable; reconnecting', {
            server: String(this.options.servers),
            attempts,
            disconnectedForMs: Date.now() - since,
          });
        }
      } else if (s.type === 'reconnect') {
        this.connected = true;
        this.options.logger.info('NATS reconnected', {
          server: s.server,
          attempts,
          disconnectedForMs: Date.now() - since,
        });
        for (const listener of this.reconnectListeners) listener();
      }
    }
  }
}

/** While NATS stays away, one line this often says so (each attempt would be one line every 2 s). */
const STILL_RECONNECTING_LOG_MS = 30_000;

/** nats.js says only "timeout" or "connection refused"; say what that means for an operator. */
function describeConnectError(err: unknown): string {
  const message = (err as Error)?.message ?? String(err);
  if (message === 'timeout') return 'timeout: the address accepts connections but no NATS server answered';
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code && !message.includes(cause.code) ? `${message} (${cause.code})` : message;
}

/** The stream's dedupe id of a `.started` or `.finished` (undefined for any other event). */
export function answerMsgId(event: KeptnEvent): string | undefined {
  if (!event.triggeredid || !/\.(started|finished)$/.test(event.type)) return undefined;
  return `${event.source}/${event.triggeredid}/${event.type}`;
}
