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
}

/** The handler's data goes into `.finished` over the trigger's common data; a throw becomes errored/fail. */
export type TaskResult = Record<string, unknown> | void | DeferFinished;

export interface TaskHandler {
  handle(event: KeptnEvent, ctx: TaskContext): Promise<TaskResult>;
}

/** Task names a handler is registered for; `*` catches every task. */
export const ANY_TASK = '*';
