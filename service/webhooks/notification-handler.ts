import { randomUUID } from 'node:crypto';
import { retryWithBackoff, type Logger, type BackoffOptions } from '../../lib/index.js';
import type { GitopsConfig } from '../config/gitops-config.js';
import { describeScope } from '../config/resolve-target.js';
import type { ServiceMetrics } from '../metrics.js';
import { decideArgoNotification } from './argocd-decision.js';
import { changeKey, type ChangeContext, type ChangeTarget, type Outcome } from './change-context.js';
import { decideFluxEvent } from './flux-decision.js';
import type { FluxSourceLookup } from './flux-sources.js';
import type { ArgoNotification, FluxEvent } from './payloads.js';
import type { SeenRevisionStore } from '../state/seen-revisions.js';
import { buildSequenceTrigger, type ChangeDetails, type SequenceTrigger } from './sequence-trigger.js';
import type { DeliveryTool } from '../gitops/identity.js';

export interface NotificationHandlerOptions {
  logger: Logger;
  metrics: ServiceMetrics;
  getConfig: () => GitopsConfig;
  seen: SeenRevisionStore;
  sources: FluxSourceLookup;
  /**
   * Sends `sh.keptn.event.<stage>.<sequence>.triggered` (NATS or the Keptn API); rejects when it could not.
   */
  startSequence: (trigger: SequenceTrigger) => Promise<void>;
  /** Whether a delivery of this target (`<Kind>/<namespace>/<name>`) is running now. */
  isFollowing: (tool: DeliveryTool, target: string, instance?: string) => boolean;
  /** Makes the follower of that delivery look at the target at once. */
  wakeFollower: (tool: DeliveryTool, target: string, instance?: string) => void;
  /** New shkeptncontext for each started sequence; default randomUUID. */
  newContext?: () => string;
  /** Attempts of a notification whose handling fails, and their pacing; default 4, 500 ms doubling to 4 s. */
  retry?: BackoffOptions;
}

const DEFAULT_RETRY = { attempts: 4, initialMs: 500, maxMs: 4_000 };

/**
 * Decides what GitOps notifications mean, after the HTTP layer accepted them: changes start Keptn
 * sequences (once per target and revision), completions wake followers, drift is counted. Work runs
 * one notification at a time, after the 202 was sent.
 */
export class NotificationHandler {
  private readonly options: NotificationHandlerOptions;
  private readonly newContext: () => string;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(options: NotificationHandlerOptions) {
    this.options = options;
    this.newContext = options.newContext ?? randomUUID;
  }

  acceptArgocd(notification: ArgoNotification): Promise<Outcome | undefined> {
    return this.enqueue('argocd', (ctx) => decideArgoNotification(ctx, notification));
  }

  acceptFlux(event: FluxEvent): Promise<Outcome | undefined> {
    return this.enqueue('flux', (ctx) => decideFluxEvent(ctx, event));
  }

  /** Resolves once all accepted notifications are handled. */
  async idle(): Promise<void> {
    let tail: Promise<unknown>;
    do {
      tail = this.tail;
      await tail;
    } while (tail !== this.tail);
  }

  /**
   * Runs after everything queued before; never rejects. The sender already has its 202 and will not
   * send again, so a failure (the Kubernetes API briefly unreachable) is retried; deciding again is
   * safe, as a sequence starts at most once per target and revision.
   */
  private enqueue(
    tool: DeliveryTool,
    decide: (ctx: ChangeContext) => Promise<Outcome>,
  ): Promise<Outcome | undefined> {
    const retry = this.options.retry ?? DEFAULT_RETRY;
    const details = (err: unknown, attempt: number) => ({
      tool,
      attempt,
      error: (err as Error).message,
      cause: causeOf(err),
    });
    const run = this.tail.then(async () => {
      let attempt = 0;
      try {
        const outcome = await retryWithBackoff(
          () => {
            attempt++;
            return decide(this.context());
          },
          {
            ...retry,
            onRetry: (err, n, delayMs) =>
              this.options.logger.warn('cannot handle notification; trying again', {
                ...details(err, n),
                delayMs,
              }),
          },
        );
        this.options.metrics.notifications.inc({ tool, outcome });
        return outcome;
      } catch (err) {
        const failure = details(err, attempt);
        this.options.metrics.notificationsFailed.inc({ tool });
        this.options.logger.error('cannot handle notification; it is dropped', failure);
        return undefined;
      }
    });
    this.tail = run;
    return run;
  }

  private context(): ChangeContext {
    const o = this.options;
    return {
      logger: o.logger,
      metrics: o.metrics,
      config: o.getConfig(),
      seen: o.seen,
      sources: o.sources,
      isFollowing: o.isFollowing,
      wakeFollower: o.wakeFollower,
      startChange: (change, details) => this.startChange(change, details),
    };
  }

  private async startChange(change: ChangeTarget, details: ChangeDetails): Promise<boolean> {
    const { logger, seen, metrics, startSequence } = this.options;
    const sequence = change.target.onChange!.sequence;
    const trigger = buildSequenceTrigger(change.scope, sequence, details, this.newContext());
    const key = changeKey(change);
    const log = logger.child({
      tool: details.tool,
      target: details.target,
      revision: details.revision,
      scope: describeScope(change.scope),
    });
    if (!(await seen.markIfNew(key, details.revision))) {
      log.debug('revision already seen for this target; no sequence started');
      return false;
    }
    try {
      await startSequence(trigger);
    } catch (err) {
      // Not "already seen": the notification's handling failed, and is retried (or counted) as such.
      await seen.forget(key, details.revision);
      log.warn(`cannot start sequence ${trigger.type}`, {
        shkeptncontext: trigger.shkeptncontext,
        error: (err as Error).message,
      });
      throw new Error(
        `cannot start sequence ${trigger.type} for ${details.target}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    metrics.sequencesTriggered.inc({ tool: details.tool });
    log.info(`change detected: started ${trigger.type}`, { shkeptncontext: trigger.shkeptncontext });
    return true;
  }
}

function causeOf(err: unknown): string | undefined {
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? cause.message : undefined;
}
