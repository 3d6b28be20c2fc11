import { abortableSleep, reopenStream, type Logger, type BackoffOptions } from '../../../lib/index.js';
import type { ServiceMetrics } from '../../metrics.js';
import type { Application } from './application.js';
import type { AppScope, ArgoCdClient } from './argocd-client.js';
import { ArgoApiError, RETRY_REASONS } from './errors.js';
import { waitWithDeadline } from '../wait.js';

export interface ApplicationFollowerOptions {
  client: ArgoCdClient;
  name: string;
  scope: AppScope;
  /** Aborting stops the follower; pending `until` calls reject with the signal's reason. */
  signal: AbortSignal;
  /** Epoch ms; `until` rejects with `FollowTimeoutError` when it passes. */
  deadline: number;
  pollIntervalMs: number;
  retry: BackoffOptions;
  logger: Logger;
  metrics?: ServiceMetrics;
  clock?: () => number;
}

/** The deadline passed while waiting; `latest` is the last view of the application, for the message. */
export class FollowTimeoutError extends Error {
  constructor(readonly latest: Application | undefined) {
    super('deadline passed while following the application');
    this.name = 'FollowTimeoutError';
  }
}

interface Waiter {
  decide: (app: Application) => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * Follows one application through one watch stream (reconnecting when it drops, polling GET only
 * when the stream cannot be opened) and answers `until(decide)`: the first non-undefined decision
 * on an application view. `refresh()` re-reads it now (used on notifications and after refusals).
 */
export class ApplicationFollower {
  latest?: Application;
  private readonly options: ApplicationFollowerOptions;
  private readonly stop = new AbortController();
  private readonly signal: AbortSignal;
  private readonly clock: () => number;
  private waiter?: Waiter;
  private failure?: unknown;
  private started = false;

  constructor(options: ApplicationFollowerOptions) {
    this.options = options;
    this.clock = options.clock ?? Date.now;
    this.signal = AbortSignal.any([options.signal, this.stop.signal]);
  }

  /** Opens the watch in the background. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.run().catch((err) => this.fail(err));
  }

  /** Waits for the first view on which `decide` returns a value. */
  until<T>(decide: (app: Application) => T | undefined): Promise<T> {
    this.start();
    if (this.failure) return Promise.reject(this.failure);
    return waitWithDeadline<T>(
      {
        deadline: this.options.deadline,
        now: this.clock,
        signal: this.signal,
        timeout: () => new FollowTimeoutError(this.latest),
        aborted: () => this.options.signal.reason ?? new Error('follower closed'),
      },
      (settle) => {
        const waiter: Waiter = { decide, resolve: (v) => settle.resolve(v as T), reject: settle.reject };
        this.waiter = waiter;
        if (this.latest) this.offer(this.latest);
        return () => {
          if (this.waiter === waiter) this.waiter = undefined;
        };
      },
    );
  }

  /** Reads the application now and evaluates it (a notification arrived, or a refusal needs fresh state). */
  async refresh(): Promise<Application> {
    const app = await this.options.client.getApplication(this.options.name, this.options.scope, {
      signal: this.signal,
      deadline: this.options.deadline,
    });
    this.offer(app);
    return app;
  }

  /** Evaluates one view of the application against the current waiter. */
  offer(app: Application): void {
    this.latest = app;
    const waiter = this.waiter;
    if (!waiter) return;
    try {
      const decision = waiter.decide(app);
      if (decision !== undefined) waiter.resolve(decision);
    } catch (err) {
      waiter.reject(err);
    }
  }

  close(): void {
    this.stop.abort(new Error('follower closed'));
  }

  private fail(err: unknown): void {
    if (this.signal.aborted) return;
    this.failure = err;
    this.waiter?.reject(err);
  }

  /** Each stream starts over with a snapshot: a clean end is a drop too; the first drop reopens at once. */
  private async run(): Promise<void> {
    const { client, name, scope, logger } = this.options;
    const open = async (progress: () => void) => {
      for await (const app of client.watch(name, scope, this.signal)) {
        progress();
        this.offer(app);
      }
      logger.debug('Argo CD watch stream ended, reconnecting', { application: name });
    };
    const ended = await reopenStream(open, {
      signal: this.signal,
      backoff: this.options.retry,
      immediateReopens: 1,
      endIsDrop: true,
      onFailure: (err) => {
        if (err instanceof ArgoApiError && !err.transient) {
          logger.warn('cannot open the Argo CD watch stream, polling instead', {
            application: name,
            error: err.message,
          });
          return 'stop';
        }
        this.options.metrics?.apiRetries.inc({
          tool: 'argocd',
          reason:
            err instanceof ArgoApiError ? (err.retryReason ?? RETRY_REASONS.reset) : RETRY_REASONS.reset,
        });
        logger.warn('Argo CD watch stream failed, reconnecting', {
          application: name,
          error: err instanceof Error ? err.message : String(err),
        });
        return 'reopen';
      },
    });
    if (ended === 'stopped') return this.poll();
  }

  private async poll(): Promise<void> {
    while (!this.signal.aborted) {
      await this.refresh();
      await abortableSleep(this.options.pollIntervalMs, this.signal).catch(() => undefined);
    }
  }
}
