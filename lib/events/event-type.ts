import type { TaskEventKind } from './types.js';

const PREFIX = 'sh.keptn.event.';

function parts(type: string): string[] | undefined {
  const p = type.split('.');
  return p.every((x) => x.length > 0) ? p : undefined;
}

/** `sh.keptn.event.<task>.<kind>`: exactly 5 non-empty parts (go-utils `IsTaskEventType`). */
export function isTaskEventType(type: string): boolean {
  return type.startsWith(PREFIX) && parts(type)?.length === 5;
}

/**
 * `sh.keptn.event.<stage>.<sequence>.<kind>`: exactly 6 parts (go-utils `IsSequenceEventType`).
 * Like Keptn, `sh.keptn.event.x.status.changed` is classified as a sequence type.
 */
export function isSequenceEventType(type: string): boolean {
  return type.startsWith(PREFIX) && parts(type)?.length === 6;
}

/** The task name and kind of a task event type, or undefined for anything else. */
export function parseTaskEventType(type: string): { task: string; kind: string } | undefined {
  if (!isTaskEventType(type)) return undefined;
  const p = type.split('.');
  return { task: p[3]!, kind: p[4]! };
}

/** The sequence parts of a sequence event type, or undefined. */
export function parseSequenceEventType(type: string): { stage: string; sequence: string; kind: string } | undefined {
  if (!isSequenceEventType(type)) return undefined;
  const p = type.split('.');
  return { stage: p[3]!, sequence: p[4]!, kind: p[5]! };
}

export function taskEventType(task: string, kind: TaskEventKind | string): string {
  return `${PREFIX}${task}.${kind}`;
}

export function sequenceEventType(stage: string, sequence: string, kind: 'triggered' | 'finished' | string): string {
  return `${PREFIX}${stage}.${sequence}.${kind}`;
}

/** Replaces the last part of a type (go-utils `ReplaceEventTypeKind`). */
export function replaceEventKind(type: string, kind: string): string {
  const i = type.lastIndexOf('.');
  return `${type.slice(0, i)}.${kind}`;
}
