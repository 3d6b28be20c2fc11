import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../log.js';
import type { Subscription } from '../uniform/subscription.js';
import { sameSubjects, subjectsOf, type EventSource, type IncomingMessage } from './transport.js';

/** `auto`: use JetStream when the server has Keptn's stream; `true`: always (creating it); `false`: never. */
export const JetStreamMode = { Auto: 'auto', On: 'true', Off: 'false' } as const;
export type JetStreamMode = (typeof JetStreamMode)[keyof typeof JetStreamMode];

/** The stream shipyard-controller creates (KK `shipyard-controller/internal/nats/connection.go`). */
export const KEPTN_STREAM = 'keptn';

export interface JetStreamSourceOptions {
  connection: NatsConnection;
  /** Integration name: the durable consumers are named after it. */
  name: string;
  logger: Logger;
  stream?: string;
  /** How long the server waits for an ack before redelivering; default 30 s. */
  ackWaitMs?: number;
}

/**
 * Task triggers from durable pull consumers on the `keptn` stream, so triggers published while no
 * replica runs wait for us. Replicas share the consumers (work queue). nats-server 2.9 has no
 * `filter_subjects`, so there is one durable per subject: `<name>-<subject with _ for .>`.
 * Messages are acked by the loop once `.started` is flushed.
 */
export class JetStreamSource implements EventSource {
  readonly kind = 'jetstream';
  private subjects: string[] = [];
  private readonly readers = new Map<string, ConsumerMessages>();
  private deliver?: (message: IncomingMessage) => void;
  private stopped = false;
  private readonly stream: string;
  private readonly js: JetStreamClient;

  private constructor(
    private readonly options: JetStreamSourceOptions,
    private readonly jsm: JetStreamManager,
  ) {
    this.stream = options.stream ?? KEPTN_STREAM;
    this.js = jetstream(options.connection);
  }

  /**
   * The JetStream source for `mode`, or undefined when core NATS should be used (mode `false`, or
   * `auto` and the server has no JetStream or no `keptn` stream). Mode `true` creates the stream.
   */
  static async create(
    mode: JetStreamMode,
    options: JetStreamSourceOptions,
  ): Promise<JetStreamSource | undefined> {
    if (mode === JetStreamMode.Off) return undefined;
    const stream = options.stream ?? KEPTN_STREAM;
    let jsm: JetStreamManager;
    try {
      jsm = await jetstreamManager(options.connection);
    } catch (err) {
      if (mode === JetStreamMode.On)
        throw new Error(
          `JetStream was required (NATS_JETSTREAM=true) but the server has none: ${(err as Error).message}`,
          { cause: err },
        );
      return undefined;
    }
    const exists = await jsm.streams.info(stream).then(
      () => true,
      () => false,
    );
    if (!exists) {
      if (mode === JetStreamMode.Auto) return undefined;
      await jsm.streams.add({ name: stream, subjects: ['sh.keptn.>'] });
      options.logger.info('created the JetStream stream', { stream });
    }
    return new JetStreamSource(options, jsm);
  }

  static durableName(name: string, subject: string): string {
    return `${name}-${subject}`.replace(/[.*>\s]/g, '_');
  }

  async start(deliver: (message: IncomingMessage) => void): Promise<void> {
    this.deliver = deliver;
    this.stopped = false;
    await this.sync(this.subjects, []);
  }

  async setSubscriptions(subscriptions: readonly Subscription[]): Promise<void> {
    const next = subjectsOf(subscriptions);
    if (sameSubjects(next, this.subjects)) return;
    this.options.logger.info('JetStream subjects changed', { subjects: next });
    // Taken as the current set only once synced, so a failed change is tried again.
    if (this.deliver && !this.stopped) await this.sync(next, this.subjects);
    this.subjects = next;
  }

  isSubscribed(): boolean {
    return !this.stopped && this.readers.size > 0;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const [subject, reader] of this.readers) {
      reader.stop();
      this.readers.delete(subject);
    }
  }

  private async sync(next: readonly string[], previous: readonly string[]): Promise<void> {
    for (const subject of previous) {
      if (next.includes(subject)) continue;
      this.readers.get(subject)?.stop();
      this.readers.delete(subject);
      await this.forget(subject);
    }
    for (const subject of next) if (!this.readers.has(subject)) await this.consume(subject);
  }

  /**
   * Deletes the durable consumer of a subscription that was removed. Left on the server, it would
   * keep collecting triggers and hand all of them over, however old, should the subscription come
   * back.
   */
  private async forget(subject: string): Promise<void> {
    const durable = JetStreamSource.durableName(this.options.name, subject);
    try {
      await this.jsm.consumers.delete(this.stream, durable);
      this.options.logger.info('deleted the JetStream consumer of a removed subscription', {
        subject,
        durable,
      });
    } catch (err) {
      // Another replica, told of the same change, may have deleted it first.
      if (/not found/i.test((err as Error).message)) return;
      this.options.logger.warn('cannot delete the JetStream consumer of a removed subscription', {
        subject,
        durable,
        error: (err as Error).message,
      });
    }
  }

  private async consume(subject: string): Promise<void> {
    const durable = JetStreamSource.durableName(this.options.name, subject);
    const exists = await this.jsm.consumers.info(this.stream, durable).then(
      () => true,
      () => false,
    );
    if (!exists) {
      await this.jsm.consumers.add(this.stream, {
        durable_name: durable,
        filter_subject: subject,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.New,
        ack_wait: (this.options.ackWaitMs ?? 30_000) * 1_000_000,
      });
    }
    const consumer = await this.js.consumers.get(this.stream, durable);
    const messages = await consumer.consume();
    this.readers.set(subject, messages);
    void (async () => {
      for await (const m of messages) this.deliver?.({ data: m.data, subject, ack: () => void m.ack() });
    })().catch((err: Error) =>
      this.options.logger.error('JetStream consumer stopped', { subject, durable, error: err.message }),
    );
  }
}
