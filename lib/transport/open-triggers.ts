import type { KeptnEvent } from '../events/types.js';
import { retryWithBackoff, type BackoffOptions } from '../http/backoff.js';
import { KeptnApiError, type JsonClient } from '../http/json-client.js';
import type { Logger } from '../log.js';
import { matchesFilter, type Subscription } from '../uniform/subscription.js';

interface TriggeredPage {
  events?: KeptnEvent[];
  nextPageKey?: string;
}

export interface OpenTriggersOptions {
  client: JsonClient;
  /** The control plane's `/v1/event/triggered`; the event type is appended per subscription. */
  base: string;
  /** Page size; default 50. */
  pageSize?: number;
  retry?: Partial<BackoffOptions>;
}

/**
 * The open triggers the control plane holds for one subscription (`GET /v1/event/triggered/{type}`,
 * every page), narrowed to the whole subscription filter: the query narrows by single-valued
 * filters only. A project the control plane does not have (yet) has no open triggers:
 * shipyard-controller answers that query with 404 `project not found`, which is not a failed poll.
 */
export async function fetchOpenTriggers(
  options: OpenTriggersOptions,
  sub: Subscription,
  signal?: AbortSignal,
): Promise<KeptnEvent[]> {
  const base = `${options.base}/${encodeURIComponent(sub.event)}`;
  const query = new URLSearchParams({ pageSize: String(options.pageSize ?? 50) });
  const single = (list?: string[] | null) => (list && list.length === 1 ? list[0] : undefined);
  const project = single(sub.filter?.projects);
  const stage = single(sub.filter?.stages);
  const service = single(sub.filter?.services);
  if (project) query.set('project', project);
  if (stage) query.set('stage', stage);
  if (service) query.set('service', service);
  const all: KeptnEvent[] = [];
  let pageKey = '';
  for (let page = 0; page < 1000; page++) {
    if (pageKey) query.set('nextPageKey', pageKey);
    const res = await retryWithBackoff(
      () => options.client.expectOk<TriggeredPage>('GET', `${base}?${query}`, undefined, signal),
      {
        attempts: 3,
        initialMs: 200,
        maxMs: 2000,
        ...options.retry,
        signal,
        isTransient: (err) => err instanceof KeptnApiError && err.transient,
      },
    ).catch((err: unknown) => {
      if (project && err instanceof KeptnApiError && err.details.status === 404) return undefined;
      throw err;
    });
    if (!res) return [];
    all.push(...(res.body?.events ?? []));
    pageKey = res.body?.nextPageKey ?? '';
    if (pageKey === '' || pageKey === '0') break;
  }
  return all.filter((event) => typeof event?.id === 'string' && matchesFilter(sub.filter, event.data ?? {}));
}

export interface OpenTriggerCatchUpOptions extends OpenTriggersOptions {
  logger: Logger;
  subscriptions: () => readonly Subscription[];
  /**
   * The event loop's `offer`: it passes over what it already took, and a claiming handler stays silent for
   * what another instance has.
   */
  offer: (event: KeptnEvent, subject: string, subscriptionId?: string) => void;
}

/**
 * Hands the event loop the open triggers it may have missed: core NATS drops what is published
 * while the connection is re-established, and a JetStream consumer starts at its creation. Run at
 * start-up and after every reconnect; what was answered already is recognised by the loop (its
 * dedupe, the handler's claim), so nothing is answered twice.
 */
export class OpenTriggerCatchUp {
  private running?: Promise<void>;
  private again = false;

  constructor(private readonly options: OpenTriggerCatchUpOptions) {}

  /** Runs a catch-up now, or once more after the one running. */
  run(reason: string, signal?: AbortSignal): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.catchUp(reason, signal).finally(() => {
      this.running = undefined;
      if (this.again && !signal?.aborted) {
        this.again = false;
        void this.run(reason, signal);
      }
    });
    return this.running;
  }

  private async catchUp(reason: string, signal?: AbortSignal): Promise<void> {
    const { logger, offer } = this.options;
    let offered = 0;
    for (const sub of this.options.subscriptions()) {
      try {
        for (const event of await fetchOpenTriggers(this.options, sub, signal)) {
          offered++;
          offer(event, sub.event, sub.id);
        }
      } catch (err) {
        if (!signal?.aborted)
          logger.warn(
            'cannot list the open triggers of a subscription; those published while not subscribed wait for the next catch-up',
            { event: sub.event, reason, error: (err as Error).message },
          );
      }
    }
    if (offered > 0)
      logger.info('looked for open triggers missed while not subscribed', { reason, open: offered });
  }
}
