import { setMaxListeners } from 'node:events';
import { createFinishedEvent, createStartedEvent, type ParentEvent } from '../events/builders.js';
import { parseTaskEventType } from '../events/event-type.js';
import { parseKeptnEvent } from '../events/parse.js';
import { KeptnResult, KeptnStatus, type KeptnEvent } from '../events/types.js';
import type { SdkMetrics } from '../health/sdk-metrics.js';
import type { Logger } from '../log.js';
import { UnpublishableError } from '../transport/outbox.js';
import type { EventSink, EventSource, IncomingMessage } from '../transport/transport.js';
import { matchesFilter, type Subscription } from '../uniform/subscription.js';
import type { LogEntry } from '../uniform/uniform-client.js';
import { BoundedSet } from './bounded-set.js';
import { Semaphore } from './semaphore.js';
import {
  ANY_TASK,
  DEFER_FINISHED,
  type TaskContext,
  type TaskHandler,
  type TaskResult,
} from './task-handler.js';

/** How a delivery opens: its `.started` on the way, or silence because another instance answers it. */
type Opening = { started: Promise<void>; failed?: Error } | 'taken';

/** Why the loop dropped a message without answering (beside the parser's reasons). */
export const LoopRejectReason = {
  MissingScope: 'missing-scope',
  MissingContext: 'missing-field',
  Duplicate: 'duplicate',
  /** Another instance (or an earlier run of this one) answers the trigger: its durable claim exists. */
  Taken: 'taken',
} as const;
export type LoopRejectReason = (typeof LoopRejectReason)[keyof typeof LoopRejectReason];

export const SHUTDOWN_MESSAGE = 'service shut down before the delivery finished';

export interface EventLoopOptions {
  /** Integration name: the `source` of every answer. */
  name: string;
  source: EventSource;
  sink: EventSink;
  logger: Logger;
  metrics?: SdkMetrics;
  /** Handlers running at once; intake and `.started` are never held back by it. Default 1000. */
  concurrency?: number;
  /** Event ids remembered for dedupe; default 10000. */
  dedupeCapacity?: number;
  /** Where errored `.finished` events are also reported (`POST /v1/log`). */
  errorLog?: { log(entries: LogEntry[]): Promise<void> };
  integrationId?: () => string | undefined;
  /** After the shutdown deadline aborts handlers, how long they get to return; default 2000 ms. */
  abortGraceMs?: number;
}

/** A task trigger the loop answered with `.started` and has not yet finished. */
interface RunningTask {
  controller: AbortController;
  done: Promise<void>;
  /** Set once the loop has sent (or decided not to send) the `.finished`. */
  settled: boolean;
  parent: ParentEvent;
  task: string;
  logger: Logger;
}

/**
 * Owns the Keptn protocol for task triggers, like the go-sdk's control plane: parse, match the
 * subscription, dedupe, the handler's durable claim, then `.started`, the handler under a concurrency
 * bound, `.finished` on every path. Handlers return data or throw; they never publish.
 */
export class EventLoop {
  private readonly handlers = new Map<string, TaskHandler>();
  private subscriptions: Subscription[] = [];
  private readonly seen: BoundedSet;
  private readonly bound: Semaphore;
  private readonly deliveries = new Set<RunningTask>();
  private readonly shutdown = new AbortController();

  constructor(private readonly options: EventLoopOptions) {
    this.seen = new BoundedSet(options.dedupeCapacity ?? 10_000);
    this.bound = new Semaphore(options.concurrency ?? 1000);
    setMaxListeners(0, this.shutdown.signal);
  }

  /** Registers the handler for `task` (e.g. `deliver`) or `*`. */
  handle(task: string, handler: TaskHandler | TaskHandler['handle']): this {
    this.handlers.set(task, typeof handler === 'function' ? { handle: handler } : handler);
    return this;
  }

  /** The live subscriptions: used to match NATS messages and handed to the source. */
  async setSubscriptions(subscriptions: readonly Subscription[]): Promise<void> {
    this.subscriptions = [...subscriptions];
    await this.options.source.setSubscriptions(subscriptions);
  }

  async start(): Promise<void> {
    await this.options.source.start((message) => this.intake(message));
  }

  /** The live subscriptions. */
  get subscribed(): readonly Subscription[] {
    return this.subscriptions;
  }

  /**
   * Takes a trigger that came another way than the source (the control plane's open triggers), as
   * if the source had delivered it. One this loop already took, and one it could never answer (no
   * id, context or scope: counted when the bus delivered it), are passed over without a word.
   */
  offer(event: KeptnEvent, subject: string, subscriptionId?: string): void {
    const answerable =
      event.id &&
      event.shkeptncontext &&
      (['project', 'stage', 'service'] as const).every(
        (k) => typeof event.data?.[k] === 'string' && event.data[k] !== '',
      );
    if (!answerable || this.seen.has(event.id)) return;
    this.intake({ data: JSON.stringify(event), subject, subscriptionId });
  }

  /**
   * Finishes a delivery adopted from a durable record after a restart: only the `.finished` is
   * sent when its `.started` went out before; with `startedFirst`, the record shows it never did
   * (a crash between the claim and the `.started`), so the `.started` is sent first and
   * `startedFirst.recorded` runs once it is flushed. The trigger id is remembered so a redelivery
   * is ignored.
   */
  finishAdopted(
    parent: ParentEvent,
    work: (ctx: TaskContext) => Promise<TaskResult>,
    startedFirst?: { recorded: () => Promise<void> },
  ): Promise<void> {
    this.seen.add(parent.id);
    const task = parseTaskEventType(parent.type)?.task ?? parent.type;
    const log = this.options.logger.child({
      shkeptncontext: parent.shkeptncontext,
      triggeredid: parent.id,
      task,
    });
    const open = async (): Promise<Opening> => {
      if (!startedFirst) return { started: Promise.resolve() };
      const started = this.sendStarted(parent, startedFirst.recorded, log);
      started.catch((err: Error) => log.error('could not send .started', { error: err.message }));
      return { started };
    };
    return this.run(parent, task, (ctx) => work(ctx), open);
  }

  /**
   * Marks a trigger as taken elsewhere (another replica is delivering it), so a source that
   * re-delivers open triggers (HTTP polling) does not answer it a second time.
   */
  ignore(triggerId: string): void {
    this.seen.add(triggerId);
  }

  /** Stops intake, lets handlers finish until `deadlineMs`, aborts the rest, then closes the sink. */
  async stop(options: { deadlineMs?: number } = {}): Promise<void> {
    const deadlineMs = options.deadlineMs ?? 30_000;
    const started = Date.now();
    await this.options.source.stop();
    await waitAll(this.deliveries, deadlineMs);
    if (this.deliveries.size > 0) {
      this.options.logger.warn('shutdown deadline reached; aborting running handlers', {
        running: this.deliveries.size,
      });
      this.shutdown.abort(new Error(SHUTDOWN_MESSAGE));
      await waitAll(this.deliveries, this.options.abortGraceMs ?? 2000);
      await Promise.all([...this.deliveries].map((d) => this.finishHanging(d)));
    }
    await this.options.sink.close(Math.max(1000, deadlineMs - (Date.now() - started)));
  }

  private intake(message: IncomingMessage): void {
    const { logger, metrics } = this.options;
    const parsed = parseKeptnEvent(message.data);
    if (!parsed.ok) {
      metrics?.rejected.inc({ reason: parsed.reason });
      logger.warn('dropped a message that is not a Keptn event', {
        subject: message.subject,
        reason: parsed.reason,
        error: parsed.error,
      });
      void message.ack?.();
      return;
    }
    const event = parsed.event;
    metrics?.received.inc({ type: event.type });
    const log = logger.child({ shkeptncontext: event.shkeptncontext, eventId: event.id, type: event.type });
    const target = this.select(event, message, log);
    if (!target) {
      void message.ack?.();
      return;
    }
    log.info('accepted a task trigger', {
      task: target.task,
      project: event.data.project,
      stage: event.data.stage,
      service: event.data.service,
    });
    const parent: ParentEvent = {
      type: event.type,
      id: event.id,
      shkeptncontext: event.shkeptncontext,
      gitcommitid: event.gitcommitid,
      data: event.data,
    };
    void this.run(
      parent,
      target.task,
      (ctx) => target.handler.handle(event, ctx),
      () => this.open(event, parent, target.handler, message, log),
    );
  }

  /**
   * Claims the trigger (for a handler that claims) and only then sends `.started`; acknowledges the
   * message once both are done, or at once when another instance answers it.
   */
  private async open(
    event: KeptnEvent,
    parent: ParentEvent,
    handler: TaskHandler,
    message: IncomingMessage,
    log: Logger,
  ): Promise<Opening> {
    let failed: Error | undefined;
    if (handler.claim) {
      try {
        if ((await handler.claim(event, this.shutdown.signal)) === 'taken') {
          this.options.metrics?.rejected.inc({ reason: LoopRejectReason.Taken });
          log.info('another instance answers this trigger (its claim exists); sending nothing', {
            reason: LoopRejectReason.Taken,
          });
          void message.ack?.();
          return 'taken';
        }
      } catch (err) {
        if (this.shutdown.signal.aborted) {
          log.warn('shut down before the trigger was claimed; left unanswered for redelivery');
          return 'taken';
        }
        failed = err instanceof Error ? err : new Error(String(err));
        log.error('could not claim the trigger; answering it as errored', { error: failed.message });
      }
    }
    const started = this.sendStarted(
      parent,
      () => (handler.started && !failed ? handler.started(event) : Promise.resolve()),
      log,
    );
    started.then(
      () => message.ack?.(),
      (err: Error) => log.error('could not send .started', { error: err.message }),
    );
    return { started, failed };
  }

  /** Publishes the `.started`, then lets `recorded` note it durably (a failure there is only logged). */
  private async sendStarted(parent: ParentEvent, recorded: () => Promise<void>, log: Logger): Promise<void> {
    await this.publishAnswer(createStartedEvent(parent, this.options.name), log);
    await recorded().catch((err: Error) =>
      log.warn(
        'sent .started but could not record it; a replica finishing this delivery after a crash would send it again',
        { error: err.message },
      ),
    );
  }

  /** The handler for a task trigger that should be answered, or undefined (with the why logged). */
  private select(
    event: KeptnEvent,
    message: IncomingMessage,
    log: Logger,
  ): { task: string; handler: TaskHandler } | undefined {
    const reject = (reason: string, why: string) => {
      this.options.metrics?.rejected.inc({ reason });
      log.warn(why, { reason });
      return undefined;
    };
    const parts = parseTaskEventType(event.type);
    if (!parts || parts.kind !== 'triggered') return void log.debug('not a task trigger; skipped');
    const handler = this.handlers.get(parts.task) ?? this.handlers.get(ANY_TASK);
    if (!handler) return void log.debug('no handler for this task; skipped', { task: parts.task });
    if (!event.id || !event.shkeptncontext)
      return reject(
        LoopRejectReason.MissingContext,
        'a task trigger without id or shkeptncontext cannot be answered',
      );
    // Before the subscription filters: a trigger without a project matches no per-project filter,
    // and would otherwise vanish at debug level.
    const missing = (['project', 'stage', 'service'] as const).filter(
      (k) => typeof event.data[k] !== 'string' || event.data[k] === '',
    );
    if (missing.length > 0)
      return reject(
        LoopRejectReason.MissingScope,
        `a task trigger without ${missing.join(', ')} cannot be answered (Keptn ignores such answers)`,
      );
    const subscriptionId = message.subscriptionId ?? this.matchSubscription(event, message.subject);
    if (subscriptionId === null)
      return void log.debug('no subscription filter matches the event; skipped', {
        subject: message.subject,
      });
    if (!this.seen.add(event.id))
      return reject(LoopRejectReason.Duplicate, 'duplicate delivery of a trigger already taken; skipped');
    if (subscriptionId) setSubscriptionId(event, subscriptionId);
    return { task: parts.task, handler };
  }

  /** The first matching subscription's id; '' when no subscriptions are known; null when none matches. */
  private matchSubscription(event: KeptnEvent, subject: string): string | null {
    if (this.subscriptions.length === 0) return '';
    const match = this.subscriptions.find((s) => s.event === subject && matchesFilter(s.filter, event.data));
    return match ? (match.id ?? '') : null;
  }

  private run(
    parent: ParentEvent,
    task: string,
    work: (ctx: TaskContext) => Promise<TaskResult>,
    open: () => Promise<Opening>,
  ): Promise<void> {
    const controller = new AbortController();
    const onShutdown = () => controller.abort(this.shutdown.signal.reason);
    this.shutdown.signal.addEventListener('abort', onShutdown, { once: true });
    const logger = this.options.logger.child({
      shkeptncontext: parent.shkeptncontext,
      triggeredid: parent.id,
      task,
    });
    const delivery: RunningTask = {
      controller,
      settled: false,
      parent,
      task,
      logger,
      done: Promise.resolve(),
    };
    this.deliveries.add(delivery);
    delivery.done = this.execute(delivery, work, open).finally(() => {
      this.shutdown.signal.removeEventListener('abort', onShutdown);
      this.deliveries.delete(delivery);
    });
    return delivery.done;
  }

  private async execute(
    delivery: RunningTask,
    work: (ctx: TaskContext) => Promise<TaskResult>,
    open: () => Promise<Opening>,
  ): Promise<void> {
    const { metrics } = this.options;
    const opening = await open();
    if (opening === 'taken') {
      delivery.settled = true;
      return;
    }
    const { started, failed } = opening;
    const callbacks: (() => Promise<void> | void)[] = [];
    const ctx: TaskContext = {
      signal: delivery.controller.signal,
      logger: delivery.logger,
      afterFinished: (cb) => void callbacks.push(cb),
    };
    // The work starts once the `.started` is out and recorded: a crash after the tool was triggered
    // then finds the record `started`, and a replica finishing the delivery does not send it again.
    // (Under a burst this also keeps intake ahead of the handlers' start-up work.)
    await started.catch(() => {});
    const acquired = await this.bound.acquire(delivery.controller.signal);
    metrics?.handlersActive.inc();
    const timer = metrics?.handlerDuration.startTimer({ task: delivery.task });
    let result: TaskResult;
    try {
      if (failed) throw failed;
      result = await work(ctx);
    } catch (err) {
      result = {
        status: KeptnStatus.Errored,
        result: KeptnResult.Fail,
        message: (err as Error)?.message ?? String(err),
      };
      delivery.logger.warn('the handler failed', { error: (err as Error)?.message });
    } finally {
      timer?.();
      metrics?.handlersActive.dec();
      if (acquired) this.bound.release();
    }
    if (delivery.settled) return;
    delivery.settled = true;
    if (result === DEFER_FINISHED) {
      delivery.logger.info('the handler deferred the .finished to a durable record');
      return;
    }
    await started.catch(() => {});
    await this.sendFinished(delivery, result ?? {});
    for (const cb of callbacks)
      await Promise.resolve()
        .then(cb)
        .catch((err: Error) =>
          delivery.logger.warn('an afterFinished callback failed', { error: err.message }),
        );
  }

  private async sendFinished(delivery: RunningTask, data: Record<string, unknown>): Promise<void> {
    let finished = createFinishedEvent(delivery.parent, this.options.name, data);
    try {
      finished = await this.publishAnswer(finished, delivery.logger);
    } catch (err) {
      const { status, result } = finished.data as { status: string; result: string };
      delivery.logger.error('could not send .finished', { error: (err as Error).message, status, result });
      return;
    }
    const { status, result } = finished.data as { status: string; result: string };
    this.options.metrics?.handled.inc({ task: delivery.task, status, result });
    delivery.logger.info('sent .finished', { status, result });
    if (status === KeptnStatus.Errored) void this.forwardErrorLog(finished, delivery);
  }

  /**
   * Publishes an answer; one the broker can never accept as it is (over its max_payload) is sent
   * reduced instead of blocking the answers behind it: first without the labels copied from the
   * trigger, then with only the scope (a `.finished` as errored, saying why). Returns what was sent.
   */
  private async publishAnswer(event: KeptnEvent, log: Logger): Promise<KeptnEvent> {
    const forms = [event, withoutLabels(event), minimal(event)];
    for (let i = 0; ; i++) {
      try {
        await this.options.sink.publish(forms[i]!);
        return forms[i]!;
      } catch (err) {
        if (!(err instanceof UnpublishableError) || i === forms.length - 1) throw err;
        if (i === 0) this.options.metrics?.unpublishable.inc({ type: event.type });
        log.error('an answer can never be published as it is; sending it reduced', {
          type: event.type,
          size: err.size,
          maxPayload: err.limit,
          reduction: i === 0 ? 'without labels' : 'scope only',
        });
      }
    }
  }

  private async finishHanging(delivery: RunningTask): Promise<void> {
    if (delivery.settled) return;
    delivery.settled = true;
    delivery.logger.warn('the handler did not return after abort; finishing it as errored');
    await this.sendFinished(delivery, {
      status: KeptnStatus.Errored,
      result: KeptnResult.Fail,
      message: SHUTDOWN_MESSAGE,
    });
  }

  private async forwardErrorLog(finished: KeptnEvent, delivery: RunningTask): Promise<void> {
    const errorLog = this.options.errorLog;
    if (!errorLog) return;
    const entry: LogEntry = {
      integrationid: this.options.integrationId?.() ?? '',
      message: String(finished.data.message ?? ''),
      time: finished.time ?? new Date().toISOString(),
      shkeptncontext: finished.shkeptncontext,
      task: delivery.task,
      triggeredid: delivery.parent.id,
    };
    if (finished.gitcommitid) entry.gitcommitid = finished.gitcommitid;
    await errorLog
      .log([entry])
      .catch((err: Error) => delivery.logger.warn('could not forward the error log', { error: err.message }));
  }
}

function withoutLabels(event: KeptnEvent): KeptnEvent {
  const { labels: _labels, ...data } = event.data;
  return { ...event, data };
}

/** The scope only; a `.finished` becomes errored with a short message saying why. */
function minimal(event: KeptnEvent): KeptnEvent {
  const { project, stage, service } = event.data;
  const data: KeptnEvent['data'] = { project, stage, service };
  if (event.type.endsWith('.finished')) {
    Object.assign(data, {
      status: KeptnStatus.Errored,
      result: KeptnResult.Fail,
      message: `the .finished (status ${String(event.data.status)}, result ${String(event.data.result)}) was too large for the event broker; its data was dropped`,
    });
  }
  return { ...event, data };
}

function setSubscriptionId(event: KeptnEvent, subscriptionID: string): void {
  const temporary = (event.data.temporaryData ??= {}) as Record<string, unknown>;
  temporary.distributor = { ...(temporary.distributor as object | undefined), subscriptionID };
}

async function waitAll(deliveries: Set<RunningTask>, ms: number): Promise<void> {
  if (deliveries.size === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((r) => (timer = setTimeout(r, ms)));
  await Promise.race([Promise.all([...deliveries].map((d) => d.done)), timeout]);
  clearTimeout(timer);
}
