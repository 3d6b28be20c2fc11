import type { KeptnEvent } from '../events/types.js';
import type { Subscription } from '../uniform/subscription.js';

/** One raw message as a source received it; the loop parses it. */
export interface IncomingMessage {
  data: Uint8Array | string;
  /** The subscription subject it arrived on (NATS), or the polled event type (HTTP). */
  subject: string;
  /** Set when the source already knows the subscription (HTTP polling per subscription). */
  subscriptionId?: string;
  /**
   * Present for sources that need an acknowledgement (JetStream); the loop calls it once the
   * handler's claim is decided and, when this instance answers, its `.started` is flushed.
   */
  ack?: () => Promise<void> | void;
}

/** Where task triggers come from: core NATS, a JetStream durable consumer, or HTTP polling. */
export interface EventSource {
  readonly kind: string;
  /** Starts delivering to `deliver`; subscriptions come later through `setSubscriptions`. */
  start(deliver: (message: IncomingMessage) => void): Promise<void>;
  /** The subscriptions from the control plane; the source resubscribes only when its set changes. */
  setSubscriptions(subscriptions: readonly Subscription[]): Promise<void>;
  /** True while at least one subscription is live (a trigger published now would reach us). */
  isSubscribed(): boolean;
  /** Stops intake (unsubscribe); messages already delivered are not affected. */
  stop(): Promise<void>;
}

/** Where answers go. `publish` resolves once the event reached the server, never drops it. */
export interface EventSink {
  publish(event: KeptnEvent): Promise<void>;
  /** How long the oldest event waiting to be published has waited (0: none waits). */
  stalledForMs?(): number;
  /** Flushes what is still queued (bounded by `deadlineMs`) and releases the connection. */
  close(deadlineMs?: number): Promise<void>;
}

/** The distinct subjects of a subscription list, sorted, for change detection. */
export function subjectsOf(subscriptions: readonly Subscription[]): string[] {
  return [...new Set(subscriptions.map((s) => s.event).filter(Boolean))].sort();
}

export function sameSubjects(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
