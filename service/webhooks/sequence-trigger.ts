import { createSequenceTriggeredEvent, sequenceEventType, type KeptnEvent } from '../../lib/index.js';
import type { Scope } from '../config/gitops-config.js';
import type { DeliveryTool } from '../gitops/identity.js';

/** What the handler hands on to start a Keptn sequence (`sh.keptn.event.<stage>.<sequence>.triggered`). */
export interface SequenceTrigger {
  /** `sh.keptn.event.<stage>.<sequence>.triggered`. */
  type: string;
  stage: string;
  sequence: string;
  /** A new context: each detected change is its own sequence. */
  shkeptncontext: string;
  data: Record<string, unknown>;
}

export interface ChangeDetails {
  tool: DeliveryTool;
  /** `<Kind>/<namespace>/<name>`. */
  target: string;
  revision: string;
}

/** The sequence trigger is refused by Keptn's API (api-service `POST /v1/event`); nothing was sent. */
export class SequenceTriggerError extends Error {
  constructor(
    message: string,
    readonly trigger: Pick<SequenceTrigger, 'type' | 'data'>,
  ) {
    super(message);
    this.name = 'SequenceTriggerError';
  }
}

const NAME = /^[a-z0-9][a-z0-9-]*$/i;

export function buildSequenceTrigger(
  scope: Scope,
  sequence: string,
  change: ChangeDetails,
  shkeptncontext: string,
): SequenceTrigger {
  const trigger: SequenceTrigger = {
    type: sequenceEventType(scope.stage, sequence, 'triggered'),
    stage: scope.stage,
    sequence,
    shkeptncontext,
    data: {
      project: scope.project,
      stage: scope.stage,
      service: scope.service,
      labels: {},
      gitops: { tool: change.tool, target: change.target, revision: change.revision, stage: scope.stage },
    },
  };
  validateSequenceTrigger(trigger);
  return trigger;
}

/**
 * Keptn's API rules for a sequence `.triggered`: project, stage, service present; the type's stage equals
 * data.stage.
 */
export function validateSequenceTrigger(trigger: Pick<SequenceTrigger, 'type' | 'data'>): void {
  const parts = trigger.type.split('.');
  const fail = (why: string) => {
    throw new SequenceTriggerError(`sequence trigger ${trigger.type} is invalid: ${why}`, trigger);
  };
  if (
    parts.length !== 6 ||
    parts.slice(0, 3).join('.') !== 'sh.keptn.event' ||
    parts[5] !== 'triggered' ||
    parts.some((p) => p === '')
  ) {
    fail('the type must be sh.keptn.event.<stage>.<sequence>.triggered');
  }
  for (const key of ['project', 'stage', 'service'] as const) {
    const value = trigger.data[key];
    if (typeof value !== 'string' || value === '') fail(`data.${key} is missing`);
    if (!NAME.test(value as string)) fail(`data.${key} '${String(value)}' is not a Keptn name`);
  }
  if (parts[3] !== trigger.data.stage)
    fail(`the stage in the type (${parts[3]}) differs from data.stage (${String(trigger.data.stage)})`);
  if (!NAME.test(parts[4]!)) fail(`the sequence name '${parts[4]}' is not a Keptn name`);
}

/** The CloudEvent that starts the sequence, sent as `source`. */
export function sequenceTriggeredEvent(trigger: SequenceTrigger, source: string): KeptnEvent {
  return createSequenceTriggeredEvent({
    stage: trigger.stage,
    sequence: trigger.sequence,
    source,
    shkeptncontext: trigger.shkeptncontext,
    data: trigger.data as { project: string; service: string },
  });
}
