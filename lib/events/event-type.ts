import type { TaskEventKind } from './types.js';

const PREFIX = 'sh.keptn.event.';

/** The dot-separated parts of a `sh.keptn.event.` type, or undefined unless all are non-empty. */
function parts(type: string): string[] | undefined {
  if (!type.startsWith(PREFIX)) return undefined;
  const p = type.split('.');
  return p.every((x) => x.length > 0) ? p : undefined;
}

/** `sh.keptn.event.<task>.<kind>`: exactly 5 non-empty parts (go-utils `IsTaskEventType`). */
export function isTaskEventType(type: string): boolean {
  return parseTaskEventType(type) !== undefined;
}

/**
 * `sh.keptn.event.<stage>.<sequence>.<kind>`: exactly 6 parts (go-utils `IsSequenceEventType`).
 * Like Keptn, `sh.keptn.event.x.status.changed` is classified as a sequence type.
 */
export function isSequenceEventType(type: string): boolean {
  return parseSequenceEventType(type) !== undefined;
}

/** The task name and kind of a task event type, or undefined for anything else. */
export function parseTaskEventType(type: string): { task: string; kind: string } | undefined {
  const p = parts(type);
  return p?.length === 5 ? { task: p[3]!, kind: p[4]! } : undefined;
}

/** The sequence parts of a sequence event type, or undefined. */
export function parseSequenceEventType(
  type: string,
): { stage: string; sequence: string; kind: string } | undefined {
  const p = parts(type);
  return p?.length === 6 ? { stage: p[3]!, sequence: p[4]!, kind: p[5]! } : undefined;
}

export function taskEventType(task: string, kind: TaskEventKind | string): string {
  return `${PREFIX}${task}.${kind}`;
}

export function sequenceEventType(
  stage: string,
  sequence: string,
  kind: 'triggered' | 'finished' | string,
): string {
  return `${PREFIX}${stage}.${sequence}.${kind}`;
}

/** Replaces the last part of a type (go-utils `ReplaceEventTypeKind`). */
export function replaceEventKind(type: string, kind: string): string {
  const i = type.lastIndexOf('.');
  return `${type.slice(0, i)}.${kind}`;
}
