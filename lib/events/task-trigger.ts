import { randomUUID } from 'node:crypto';
import { taskEventType } from './event-type.js';
import { CLOUDEVENTS_SPEC_VERSION, JSON_CONTENT_TYPE, SHKEPTN_SPEC_VERSION, type KeptnEvent, type KeptnEventData } from './types.js';

export interface TaskTriggerOptions {
  task: string;
  source: string;
  data: KeptnEventData;
  shkeptncontext?: string;
  gitcommitid?: string;
  now?: () => Date;
}

/**
 * `sh.keptn.event.<task>.triggered` the way shipyard-controller sends it (no `triggeredid`), for
 * tools that stand in for Keptn: the CLI's `trigger --task`, the demo, tests and the benchmark.
 */
export function createTaskTriggeredEvent(options: TaskTriggerOptions): KeptnEvent {
  const event: KeptnEvent = {
    specversion: CLOUDEVENTS_SPEC_VERSION,
    id: randomUUID(),
    source: options.source,
    type: taskEventType(options.task, 'triggered'),
    time: (options.now?.() ?? new Date()).toISOString(),
    contenttype: JSON_CONTENT_TYPE,
    datacontenttype: JSON_CONTENT_TYPE,
    shkeptncontext: options.shkeptncontext ?? randomUUID(),
    shkeptnspecversion: SHKEPTN_SPEC_VERSION,
    data: { labels: {}, ...options.data },
  };
  if (options.gitcommitid) event.gitcommitid = options.gitcommitid;
  return event;
}
