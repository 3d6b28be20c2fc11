import { createHash, randomUUID } from 'node:crypto';
import {
  isSequenceEventType,
  isTaskEventType,
  parseSequenceEventType,
  parseTaskEventType,
  type KeptnEvent,
} from '../../../lib/index.js';
import { ApiError } from './integrations.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UNCHECKED = new Set(['sh.keptn.log.error', 'sh.keptn.events.problem']);

/** api-service's `PostEvent` checks (KK `api/handlers/eventvalidation.go`, contract 5). */
export function validateApiEvent(body: unknown): void {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ApiError(400, 'body must be a JSON object');
  const e = body as Partial<KeptnEvent>;
  if (typeof e.type !== 'string' || !e.type) throw new ApiError(400, 'type is required');
  if (typeof e.source !== 'string' || !e.source) throw new ApiError(400, 'source is required');
  if (typeof e.data !== 'object' || e.data === null) throw new ApiError(400, 'data is required');
  const d = e.data;
  const scope = () => {
    for (const k of ['project', 'stage', 'service'] as const)
      if (!d[k]) throw new ApiError(400, `data.${k} is required`);
  };
  if (UNCHECKED.has(e.type)) return;
  if (e.type === 'sh.keptn.event.monitoring.configure') {
    if (!d.project || !d.type) throw new ApiError(400, 'data.project and data.type are required');
    return;
  }
  if (isSequenceEventType(e.type)) {
    const seq = parseSequenceEventType(e.type)!;
    if (seq.kind !== 'triggered') throw new ApiError(400, 'unknown event type action');
    scope();
    if (d.stage !== seq.stage) throw new ApiError(400, `data.stage must be ${seq.stage}`);
    return;
  }
  if (isTaskEventType(e.type)) {
    const { kind } = parseTaskEventType(e.type)!;
    if (kind !== 'started' && kind !== 'finished' && kind !== 'invalidated')
      throw new ApiError(400, 'unknown event type action');
    scope();
    if (!e.triggeredid) throw new ApiError(400, 'triggeredid is required');
    if (kind === 'finished' && (!d.result || !d.status))
      throw new ApiError(400, 'data.result and data.status are required');
    return;
  }
  throw new ApiError(400, 'unknown event type');
}

/** The rewrite api-service applies before publishing: new id and time, context kept or derived. */
export function rewriteApiEvent(body: KeptnEvent, now: Date): KeptnEvent {
  const { shkeptnspecversion: _dropped, ...rest } = body;
  let context = body.shkeptncontext;
  if (!context) context = randomUUID();
  else if (!UUID.test(context)) context = uuidFrom(context);
  let source = body.source;
  try {
    new URL(source);
  } catch {
    source = 'https://github.com/keptn/keptn/api';
  }
  return {
    ...rest,
    id: randomUUID(),
    time: now.toISOString(),
    contenttype: 'application/json',
    shkeptncontext: context,
    source,
    specversion: '1.0',
  };
}

function uuidFrom(text: string): string {
  const h = createHash('sha1').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
