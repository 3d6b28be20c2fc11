import type { KeptnEvent } from '../events/types.js';
import { abortableSleep, retryWithBackoff, type BackoffOptions } from '../http/backoff.js';
import { JsonClient, KeptnApiError, type TokenSource } from '../http/json-client.js';
import type { Logger } from '../log.js';
import type { Subscription } from '../uniform/subscription.js';
import { fetchOpenTriggers } from './open-triggers.js';
import type { EventSink, EventSource, IncomingMessage } from './transport.js';

export interface HttpTransportOptions {
  /** `KEPTN_API_ENDPOINT`, e.g. `https://keptn.example.com/api`. */
  apiEndpoint: string;
  token?: TokenSource;
  /** `HTTP_SSL_VERIFY`; default true. */
  sslVerify?: boolean;
  logger: Logger;
  /** Default 1000 ms. */
  pollIntervalMs?: number;
  /**
   * Polls only while this says so (default always): with several replicas in remote mode, only the
   * holder of the poller Lease polls, so one trigger is not taken by two replicas.
   */
  pollWhen?: () => boolean;
  /** Page size asked of `/event/triggered`; default 50. */
  pageSize?: number;
  /** Backoff for sends and page fetches (network errors and 5xx). */
  retry?: BackoffOptions;
  timeoutMs?: number;
}

/** `{api}/controlPlane`, as go-utils appends it unless it is already there. */
export function controlPlaneBase(apiEndpoint: string): string {
  const base = apiEndpoint.replace(/\/+$/, '');
  return base.endsWith('/controlPlane') ? base : `${base}/controlPlane`;
}

/** `{api}` without `/controlPlane`, where api-service's `/v1/event` lives. */
export function apiServiceBase(apiEndpoint: string): string {
  return apiEndpoint.replace(/\/+$/, '').replace(/\/controlPlane$/, '');
}

/**
 * Remote execution plane: polls open triggers per subscription and sends answers to the API.
 * The API returns an open trigger on every poll until its task completes, so the per-subscription
 * seen-ids drop an id only once it is gone from the latest poll, never by age.
 */
export class HttpTransport implements EventSource, EventSink {
  readonly kind = 'http';
  private subscriptions: Subscription[] = [];
  private readonly seen = new Map<string, Set<string>>();
  private readonly client: JsonClient;
  private readonly lifetime = new AbortController();
  private polling?: Promise<void>;
  private intake?: AbortController;
  private lastPollOk = false;
  /** api-service's `/v1/event`, where answers are sent. */
  private readonly eventUrl: string;
  /** `/v1/event/triggered` of the control plane; the event type is appended per subscription. */
  private readonly triggeredBase: string;

  constructor(private readonly options: HttpTransportOptions) {
    this.client = new JsonClient({
      token: options.token,
      sslVerify: options.sslVerify,
      timeoutMs: options.timeoutMs,
    });
    this.eventUrl = `${apiServiceBase(options.apiEndpoint)}/v1/event`;
    this.triggeredBase = `${controlPlaneBase(options.apiEndpoint)}/v1/event/triggered`;
  }

  async start(deliver: (message: IncomingMessage) => void): Promise<void> {
    if (this.polling) return;
    const intake = new AbortController();
    this.intake = intake;
    this.polling = this.pollLoop(deliver, intake.signal);
  }

  async setSubscriptions(subscriptions: readonly Subscription[]): Promise<void> {
    this.subscriptions = [...subscriptions];
    const keys = new Set(subscriptions.map(subscriptionKey));
    for (const key of this.seen.keys()) if (!keys.has(key)) this.seen.delete(key);
  }

  isSubscribed(): boolean {
    return this.polling !== undefined && this.subscriptions.length > 0 && this.lastPollOk;
  }

  async stop(): Promise<void> {
    this.intake?.abort(new Error('intake stopped'));
    await this.polling;
    this.polling = undefined;
  }

  async publish(event: KeptnEvent): Promise<void> {
    await retryWithBackoff(() => this.client.expectOk('POST', this.eventUrl, event, this.lifetime.signal), {
      ...this.options.retry,
      signal: this.lifetime.signal,
      isTransient,
      onRetry: (err, attempt, delayMs) =>
        this.options.logger.warn('sending the event to the Keptn API failed; retrying', {
          type: event.type,
          shkeptncontext: event.shkeptncontext,
          attempt,
          delayMs,
          error: (err as Error).message,
        }),
    });
  }

  async close(): Promise<void> {
    await this.stop();
    this.lifetime.abort(new Error('transport closed'));
    this.client.close();
  }

  private async pollLoop(deliver: (message: IncomingMessage) => void, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let ok = true;
      const active = this.options.pollWhen?.() ?? true;
      for (const sub of active ? this.subscriptions : []) {
        if (signal.aborted) break;
        ok = (await this.pollSubscription(sub, deliver, signal)) && ok;
      }
      this.lastPollOk = ok;
      await abortableSleep(this.options.pollIntervalMs ?? 1000, signal).catch(() => {});
    }
  }

  private async pollSubscription(
    sub: Subscription,
    deliver: (message: IncomingMessage) => void,
    signal: AbortSignal,
  ): Promise<boolean> {
    let events: KeptnEvent[];
    try {
      events = await fetchOpenTriggers(
        {
          client: this.client,
          base: this.triggeredBase,
          pageSize: this.options.pageSize,
          retry: this.options.retry,
        },
        sub,
        signal,
      );
    } catch (err) {
      if (!signal.aborted)
        this.options.logger.warn('polling open triggers failed', {
          event: sub.event,
          error: (err as Error).message,
        });
      return false;
    }
    const key = subscriptionKey(sub);
    const before = this.seen.get(key) ?? new Set<string>();
    const now = new Set<string>();
    for (const event of events) {
      now.add(event.id);
      if (!before.has(event.id))
        deliver({ data: JSON.stringify(event), subject: sub.event, subscriptionId: sub.id });
    }
    this.seen.set(key, now);
    return true;
  }
}

function isTransient(err: unknown): boolean {
  return err instanceof KeptnApiError && err.transient;
}

function subscriptionKey(sub: Subscription): string {
  return sub.id || sub.event;
}
