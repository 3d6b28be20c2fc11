import {
  encodeKeptnEvent,
  type EventSink,
  type EventSource,
  type IncomingMessage,
  type KeptnEvent,
  type Subscription,
} from '../../lib/index.js';

type Listener = (event: KeptnEvent) => void;

/**
 * The demo's in-process stand-in for NATS, used only when neither EVENTBROKER nor a nats-server
 * binary is available: the service then runs in the demo's own process. Subjects are event types;
 * listeners see every event published.
 */
export class MemoryBus {
  private readonly listeners = new Set<Listener>();

  publish(event: KeptnEvent): void {
    const copy = JSON.parse(JSON.stringify(event)) as KeptnEvent;
    queueMicrotask(() => this.listeners.forEach((listener) => listener(copy)));
  }

  listen(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The integration's side: an EventSource delivering subscribed types and an EventSink publishing. */
  endpoint(): EventSource & EventSink {
    let subjects = new Set<string>();
    let unlisten: (() => void) | undefined;
    return {
      kind: 'memory',
      start: async (deliver: (message: IncomingMessage) => void) => {
        unlisten = this.listen((event) => {
          if (subjects.has(event.type)) deliver({ data: encodeKeptnEvent(event), subject: event.type });
        });
      },
      setSubscriptions: async (subscriptions: readonly Subscription[]) => {
        subjects = new Set(subscriptions.map((s) => s.event));
      },
      isSubscribed: () => subjects.size > 0,
      stop: async () => unlisten?.(),
      publish: async (event: KeptnEvent) => this.publish(event),
      close: async () => undefined,
    };
  }
}
