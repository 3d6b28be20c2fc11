import type { CloudEventV1 } from 'cloudevents';

/**
 * Whether the executor could run the task at all (go-utils `StatusType`; `aborted` is shipyard-controller's).
 */
export const KeptnStatus = {
  Succeeded: 'succeeded',
  Errored: 'errored',
  Unknown: 'unknown',
  Aborted: 'aborted',
} as const;
export type KeptnStatus = (typeof KeptnStatus)[keyof typeof KeptnStatus];

/** The outcome of a run that could run (go-utils `ResultType`; note `fail`, not `failed`). */
export const KeptnResult = {
  Pass: 'pass',
  Warning: 'warning',
  Fail: 'fail',
} as const;
export type KeptnResult = (typeof KeptnResult)[keyof typeof KeptnResult];

/** The last part of a task event type. */
export const TaskEventKind = {
  Triggered: 'triggered',
  Started: 'started',
  StatusChanged: 'status.changed',
  Finished: 'finished',
} as const;
export type TaskEventKind = (typeof TaskEventKind)[keyof typeof TaskEventKind];

/** The common `data` of every Keptn event (go-utils `EventData`) plus the task's own keys. */
export interface KeptnEventData {
  project?: string;
  stage?: string;
  service?: string;
  labels?: Record<string, string>;
  status?: string;
  result?: string;
  message?: string;
  [key: string]: unknown;
}

/** Keptn's CloudEvents extension attributes (go-utils `KeptnContextExtendedCE`). */
export interface KeptnExtensions {
  /** go-utils spelling of `datacontenttype`. Both are written. */
  contenttype?: string;
  /** The Keptn context: one per sequence run. */
  shkeptncontext?: string;
  shkeptnspecversion?: string;
  /** The id of the `.triggered` event an answer belongs to. */
  triggeredid?: string;
  gitcommitid?: string;
}

/**
 * A Keptn event: a CloudEvent (the SDK's v1 attributes) with Keptn's extensions, in its structured JSON form.
 */
export interface KeptnEvent extends CloudEventV1<KeptnEventData>, KeptnExtensions {
  data: KeptnEventData;
}

export const SHKEPTN_SPEC_VERSION = '0.2.4';
export const CLOUDEVENTS_SPEC_VERSION = '1.0';
export const JSON_CONTENT_TYPE = 'application/json';
