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
  /** Runs after the `.finished` was flushed (e.g. to record that it was sent). */
  afterFinished(callback: () => Promise<void> | void): void;
}

/** The handler's data goes into `.finished` over the trigger's common data; a throw becomes errored/fail. */
export type TaskResult = Record<string, unknown> | void | DeferFinished;

/** `ours`: this instance answers the trigger. `taken`: another instance (or an earlier run) does. */
export type TaskClaim = 'ours' | 'taken';

export interface TaskHandler {
  handle(event: KeptnEvent, ctx: TaskContext): Promise<TaskResult>;
  /**
   * Decides, durably and before anything is sent, whether this instance answers the trigger (e.g.
   * by creating its record if absent). For `taken` the loop sends nothing at all, so a redelivered
   * or replayed trigger never gets a second `.started`. The trigger is acknowledged (JetStream) only
   * once the claim is decided and, for `ours`, the `.started` is flushed. A claim that throws is
   * answered with `.started` and an errored `.finished` carrying its message.
   */
  claim?(event: KeptnEvent, signal: AbortSignal): Promise<TaskClaim>;
  /**
   * Runs once the `.started` of a trigger this instance claimed is flushed, before the trigger is
   * acknowledged and before the `.finished` is sent (e.g. to record that the `.started` went out,
   * so that whoever finishes the delivery after a crash does not send it again). A throw is logged.
   */
  started?(event: KeptnEvent): Promise<void>;
}

/** Task names a handler is registered for; `*` catches every task. */
export const ANY_TASK = '*';
