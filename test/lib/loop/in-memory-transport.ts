import { Registry } from 'prom-client';
import {
  createSdkMetrics,
  EventLoop,
  type EventLoopOptions,
  type EventSink,
  type EventSource,
  type IncomingMessage,
  type KeptnEvent,
  type SdkMetrics,
  type Subscription,
} from '../../../lib/index.js';
import { RecordingLogger, type LogEntry } from '../../support/recording-logger.js';

/** A source the test feeds by hand: what the bus would deliver, with an ack the test can count. */
export class MemorySource implements EventSource {
  readonly kind = 'memory';
  readonly subscriptionUpdates: Subscription[][] = [];
  stops = 0;
  private deliver?: (message: IncomingMessage) => void;

  async start(deliver: (message: IncomingMessage) => void): Promise<void> {
    this.deliver = deliver;
  }

  async setSubscriptions(subscriptions: readonly Subscription[]): Promise<void> {
    this.subscriptionUpdates.push([...subscriptions]);
  }

  isSubscribed(): boolean {
    return this.deliver !== undefined;
  }

  async stop(): Promise<void> {
    this.stops++;
  }

  /**
   * Delivers `event` (or raw bytes) on `subject` (default: the event's type) and returns how often the loop
   * acknowledged it so far; `ack: false` delivers it as a source without acknowledgements would, `onAck`
   * notes when the ack comes.
   */
  send(
    event: KeptnEvent | string,
    options: { subject?: string; subscriptionId?: string; ack?: false; onAck?: () => void } = {},
  ): { acks: number } {
    if (!this.deliver) throw new Error('the loop has not started this source');
    const delivery = { acks: 0 };
    const subject =
      options.subject ?? (typeof event === 'string' ? 'sh.keptn.event.deliver.triggered' : event.type);
    this.deliver({
      data: typeof event === 'string' ? event : JSON.stringify(event),
      subject,
      subscriptionId: options.subscriptionId,
      ack:
        options.ack === false
          ? undefined
          : () => {
              delivery.acks++;
              options.onAck?.();
            },
    });
    return delivery;
  }
}

/** A sink keeping what reached "the broker", in order; `accept` decides each publish (throw to fail it). */
export class MemorySink implements EventSink {
  readonly published: KeptnEvent[] = [];
  readonly attempts: KeptnEvent[] = [];
  readonly closes: number[] = [];
  accept: (event: KeptnEvent) => Promise<void> | void = () => {};

  async publish(event: KeptnEvent): Promise<void> {
    this.attempts.push(event);
    await this.accept(event);
    this.published.push(event);
  }

  async close(deadlineMs?: number): Promise<void> {
    this.closes.push(deadlineMs ?? Number.NaN);
  }

  /** The answers that reached the broker for a trigger: `started`, `finished`, in arrival order. */
  kinds(triggerId: string): string[] {
    return this.answers(triggerId).map((e) => e.type.split('.').pop()!);
  }

  answers(triggerId: string): KeptnEvent[] {
    return this.published.filter((e) => e.triggeredid === triggerId);
  }
}

export interface LoopUnderTest {
  loop: EventLoop;
  source: MemorySource;
  sink: MemorySink;
  log: LogEntry[];
  registry: Registry;
  metrics: SdkMetrics;
  /** The value of a metric series (0 when it was never touched). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** The log lines with this message. */
  logged(message: string): LogEntry[];
}

/** An EventLoop named `gitops-service` over a MemorySource and a MemorySink, started. */
export async function startLoop(options: Partial<EventLoopOptions> = {}): Promise<LoopUnderTest> {
  const source = new MemorySource();
  const sink = new MemorySink();
  const logger = new RecordingLogger();
  const registry = new Registry();
  const metrics = createSdkMetrics(registry);
  const loop = new EventLoop({ name: 'gitops-service', source, sink, logger, metrics, ...options });
  await loop.start();
  return {
    loop,
    source,
    sink,
    log: logger.entries,
    registry,
    metrics,
    async metric(name, labels = {}) {
      const { values } = await registry.getSingleMetric(name)!.get();
      // A histogram's series are its buckets, sum and count: only the count is wanted.
      const series = (values as ((typeof values)[number] & { metricName?: string })[]).filter(
        (v) =>
          !v.metricName?.endsWith('_bucket') &&
          !v.metricName?.endsWith('_sum') &&
          Object.entries(labels).every(
            ([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want,
          ),
      );
      return series.reduce((sum, v) => sum + v.value, 0);
    },
    logged(message) {
      return logger.entries.filter((e) => e.message === message);
    },
  };
}

/** A promise the test resolves by hand. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
