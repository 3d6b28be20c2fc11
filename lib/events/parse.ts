import type { KeptnEvent } from './types.js';

/** Why bytes were not a Keptn event; the label of `keptn_events_rejected_total`. */
export const ParseFailureReason = {
  Empty: 'empty',
  InvalidJson: 'invalid-json',
  NotAnObject: 'not-an-object',
  MissingField: 'missing-field',
  InvalidField: 'invalid-field',
} as const;
export type ParseFailureReason = (typeof ParseFailureReason)[keyof typeof ParseFailureReason];

export type ParseResult =
  { ok: true; event: KeptnEvent } | { ok: false; reason: ParseFailureReason; error: string };

const STRING_FIELDS = [
  'id',
  'source',
  'specversion',
  'time',
  'contenttype',
  'datacontenttype',
  'shkeptncontext',
  'shkeptnspecversion',
  'triggeredid',
  'gitcommitid',
] as const;

const fail = (reason: ParseFailureReason, error: string): ParseResult => ({ ok: false, reason, error });

/**
 * Parses one NATS message body or HTTP event. Only `type` is required (Keptn's own fixtures omit
 * `id` and `time`); the loop decides what it can answer. Accepts `contenttype` and `datacontenttype`.
 */
export function parseKeptnEvent(input: Uint8Array | string): ParseResult {
  const text =
    typeof input === 'string'
      ? input
      : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8');
  if (text.trim() === '') return fail('empty', 'the message body is empty');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return fail('invalid-json', `the message body is not JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail(
      'not-an-object',
      `the message body is ${Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'null' : `a ${typeof value}`}, not a JSON object`,
    );
  }
  const raw = value as Record<string, unknown>;
  if (raw.type === undefined || raw.type === '') return fail('missing-field', 'the event has no type');
  if (typeof raw.type !== 'string') return fail('invalid-field', 'the event type is not a string');
  for (const field of STRING_FIELDS) {
    if (raw[field] !== undefined && raw[field] !== null && typeof raw[field] !== 'string') {
      return fail('invalid-field', `the event field ${field} is not a string`);
    }
  }
  const data = raw.data;
  if (data !== undefined && data !== null && (typeof data !== 'object' || Array.isArray(data))) {
    return fail('invalid-field', 'the event data is not a JSON object');
  }
  const event = { ...raw, data: (data ?? {}) as KeptnEvent['data'] } as KeptnEvent;
  if (event.contenttype === undefined && typeof raw.datacontenttype === 'string')
    event.contenttype = raw.datacontenttype;
  if (event.datacontenttype === undefined && typeof raw.contenttype === 'string')
    event.datacontenttype = raw.contenttype;
  return { ok: true, event };
}
