import type { KeptnEvent } from '../events/types.js';
import type { Logger } from '../log.js';

/** Returned by a handler when another instance will send the `.finished` from a durable record. */
export const DEFER_FINISHED: unique symbol = Symbol('keptn.defer-finished');
export type DeferFinished = typeof DEFER_FINISHED;

export interface TaskContext {
  /** Aborted when the service shuts down past its deadline. */
  signal: AbortSignal;
  /** A child logger carrying the event's shkeptncontext. */
  logger: Logger;
  /** Runs after the `.finished` was flushed (e.g. to clear a durable marker). */
  afterFinished(callback: () => Promise<void> | void): void;
  /**
   * The task is now recorded where another instance will find and finish it, should this process
   * die. For a handler that `recordsTasks`, a source that redelivers unacknowledged triggers
   * (JetStream) gets the trigger's acknowledgement only now.
   */
  recorded(): void;
}

/** The handler's data goes into `.finished` over the trigger's common data; a throw becomes errored/fail. */
export type TaskResult = Record<string, unknown> | void | DeferFinished;

export interface TaskHandler {
  handle(event: KeptnEvent, ctx: TaskContext): Promise<TaskResult>;
  /**
   * The handler records each task durably and calls `ctx.recorded()` then. Until it does (or the
   * `.finished` is sent), the trigger stays unacknowledged, so a crash between `.started` and the
   * record gets the trigger delivered again rather than lost. Without it, triggers are
   * acknowledged once their `.started` is sent.
   */
  readonly recordsTasks?: boolean;
}

/** Task names a handler is registered for; `*` catches every task. */
export const ANY_TASK = '*';
