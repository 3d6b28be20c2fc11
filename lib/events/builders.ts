import { randomUUID } from 'node:crypto';
import { CloudEvent } from 'cloudevents';
import { parseTaskEventType, replaceEventKind, sequenceEventType, taskEventType } from './event-type.js';
import {
  CLOUDEVENTS_SPEC_VERSION,
  JSON_CONTENT_TYPE,
  KeptnResult,
  KeptnStatus,
  SHKEPTN_SPEC_VERSION,
  type KeptnEvent,
  type KeptnEventData,
} from './types.js';

/** What a response is derived from: the triggering event, or a durable record of it. */
export interface ParentEvent {
  type: string;
  id: string;
  shkeptncontext?: string;
  gitcommitid?: string;
  data: Pick<KeptnEventData, 'project' | 'stage' | 'service' | 'labels'> & Record<string, unknown>;
}

export interface BuildOptions {
  /** For tests; default `new Date()`. */
  now?: () => Date;
}

/** project, stage, service and labels of the parent: every answer carries them. */
export function commonData(parent: ParentEvent): KeptnEventData {
  const { project, stage, service, labels } = parent.data;
  const out: KeptnEventData = {};
  if (project !== undefined) out.project = project;
  if (stage !== undefined) out.stage = stage;
  if (service !== undefined) out.service = service;
  if (labels && typeof labels === 'object') out.labels = { ...labels };
  return out;
}

/** The envelope fields that differ between events; `triggeredid` is written only when present as a key. */
interface EnvelopeFields {
  source: string;
  type: string;
  shkeptncontext: string | undefined;
  triggeredid?: string;
  gitcommitid?: string;
}

/**
 * Every event the service sends is built as a CloudEvent by the SDK, in strict mode: the required
 * attributes, their formats and the extension names and values are validated there (a ValidationError
 * otherwise). The structured JSON keeps the attribute order Keptn's consumers have always received
 * (WIRE_ORDER), so the bytes on NATS and to the API are unchanged.
 */
function buildEvent(fields: EnvelopeFields, data: KeptnEventData, options: BuildOptions): KeptnEvent {
  const cloudEvent = new CloudEvent<KeptnEventData>(
    withoutUndefined({
      specversion: CLOUDEVENTS_SPEC_VERSION,
      id: randomUUID(),
      source: fields.source,
      type: fields.type,
      time: (options.now?.() ?? new Date()).toISOString(),
      datacontenttype: JSON_CONTENT_TYPE,
      data,
      contenttype: JSON_CONTENT_TYPE,
      shkeptncontext: fields.shkeptncontext,
      shkeptnspecversion: SHKEPTN_SPEC_VERSION,
      triggeredid: fields.triggeredid,
      gitcommitid: fields.gitcommitid || undefined,
    }),
    true,
  );
  return inWireOrder(cloudEvent);
}

/** The structured-mode attribute order of every event the service has sent since its first version. */
const WIRE_ORDER = [
  'specversion',
  'id',
  'source',
  'type',
  'time',
  'contenttype',
  'datacontenttype',
  'shkeptncontext',
  'shkeptnspecversion',
  'triggeredid',
  'data',
  'gitcommitid',
] as const;

function inWireOrder(cloudEvent: CloudEvent<KeptnEventData>): KeptnEvent {
  const attributes = cloudEvent.toJSON() as Record<string, unknown>;
  const event: Record<string, unknown> = {};
  for (const name of WIRE_ORDER) if (attributes[name] !== undefined) event[name] = attributes[name];
  return event as unknown as KeptnEvent;
}

/**
 * The SDK rejects an extension whose value is undefined or null (e.g. a trigger's `"shkeptncontext": null`):
 * it is left out.
 */
function withoutUndefined<T extends Record<string, unknown>>(attributes: T): T {
  return Object.fromEntries(
    Object.entries(attributes).filter(([, value]) => value !== undefined && value !== null),
  ) as T;
}

/** An answer to `parent`: same context, `triggeredid` = parent id, gitcommitid copied. */
function envelope(
  parent: ParentEvent,
  source: string,
  type: string,
  data: KeptnEventData,
  options: BuildOptions,
): KeptnEvent {
  return buildEvent(
    {
      source,
      type,
      shkeptncontext: parent.shkeptncontext,
      triggeredid: parent.id,
      gitcommitid: parent.gitcommitid,
    },
    data,
    options,
  );
}

/** `<task>.started` answering `parent` (same context, `triggeredid` = parent id, gitcommitid copied). */
export function createStartedEvent(
  parent: ParentEvent,
  source: string,
  options: BuildOptions = {},
): KeptnEvent {
  return envelope(parent, source, replaceEventKind(parent.type, 'started'), commonData(parent), options);
}

/**
 * `<task>.finished` answering `parent`: `data` over the parent's common data; status and result
 * default to succeeded/pass; the trigger's labels are kept (only new keys may be added).
 */
export function createFinishedEvent(
  parent: ParentEvent,
  source: string,
  data: Record<string, unknown> = {},
  options: BuildOptions = {},
): KeptnEvent {
  const common = commonData(parent);
  const merged: KeptnEventData = { ...common, ...data };
  for (const key of ['project', 'stage', 'service'] as const)
    if (common[key] !== undefined) merged[key] = common[key];
  if (common.labels || data.labels)
    merged.labels = { ...(data.labels as Record<string, string> | undefined), ...common.labels };
  if (!merged.status) merged.status = KeptnStatus.Succeeded;
  if (!merged.result) merged.result = KeptnResult.Pass;
  return envelope(parent, source, replaceEventKind(parent.type, 'finished'), merged, options);
}

/** `sh.keptn.log.error` about `parent` (go-utils `CreateErrorLogEvent`). */
export function createErrorLogEvent(
  parent: ParentEvent,
  source: string,
  message: string,
  options: BuildOptions & { integrationId?: string } = {},
): KeptnEvent {
  const data: KeptnEventData = {
    ...commonData(parent),
    message,
    task: parseTaskEventType(parent.type)?.task ?? '',
  };
  if (options.integrationId) data.integrationid = options.integrationId;
  return envelope(parent, source, 'sh.keptn.log.error', data, options);
}

export interface SequenceTriggerOptions extends BuildOptions {
  stage: string;
  sequence: string;
  source: string;
  data: KeptnEventData & { project: string; service: string };
  /** Default: a new context. */
  shkeptncontext?: string;
  gitcommitid?: string;
}

/** `sh.keptn.event.<stage>.<sequence>.triggered`, as `keptn trigger sequence` sends it. */
export function createSequenceTriggeredEvent(options: SequenceTriggerOptions): KeptnEvent {
  return triggeredEvent(options, sequenceEventType(options.stage, options.sequence, 'triggered'), {
    labels: {},
    ...options.data,
    stage: options.stage,
  });
}

export interface TaskTriggerOptions extends BuildOptions {
  task: string;
  source: string;
  data: KeptnEventData;
  shkeptncontext?: string;
  gitcommitid?: string;
}

/**
 * `sh.keptn.event.<task>.triggered` the way shipyard-controller sends it (no `triggeredid`), for
 * tools that stand in for Keptn: the CLI's `trigger --task`, the demo, tests and the benchmark.
 */
export function createTaskTriggeredEvent(options: TaskTriggerOptions): KeptnEvent {
  return triggeredEvent(options, taskEventType(options.task, 'triggered'), { labels: {}, ...options.data });
}

/** A trigger as Keptn sends it: no `triggeredid`, a new context unless one is given. */
function triggeredEvent(
  options: TaskTriggerOptions | SequenceTriggerOptions,
  type: string,
  data: KeptnEventData,
): KeptnEvent {
  return buildEvent(
    {
      source: options.source,
      type,
      shkeptncontext: options.shkeptncontext ?? randomUUID(),
      gitcommitid: options.gitcommitid,
    },
    data,
    options,
  );
}
