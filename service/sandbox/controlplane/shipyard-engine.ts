import { randomBytes, randomUUID } from 'node:crypto';
import {
  parseSequenceEventType,
  parseTaskEventType,
  sequenceEventType,
  taskEventType,
  type KeptnEvent,
  type KeptnEventData,
} from '../../../lib/index.js';
import { keptnMerge } from './merge.js';

/** `{stage: {sequence: [task names]}}` for one project. */
export type ShipyardSpec = Record<string, Record<string, string[]>>;

interface Execution {
  context: string;
  trigger: KeptnEvent;
  stage: string;
  sequence: string;
  tasks: string[];
  index: number;
  gitcommitid: string;
  data: KeptnEventData;
  task?: { id: string; name: string; started: number; finished: KeptnEventData[] };
}

/**
 * A tiny shipyard-controller: turns a sequence trigger into its task triggers one after the other
 * (contract 6.2), completes a task when #started == #finished > 0 (6.3), ends with
 * `<stage>.<sequence>.finished`.
 */
export class ShipyardEngine {
  private readonly shipyards = new Map<string, ShipyardSpec>();
  private readonly executions = new Map<string, Execution>();

  constructor(private readonly emit: (event: KeptnEvent) => void) {}

  setShipyard(project: string, spec: ShipyardSpec): void {
    this.shipyards.set(project, spec);
  }

  onEvent(event: KeptnEvent): void {
    if (event.source === 'shipyard-controller') return;
    const seq = parseSequenceEventType(event.type);
    if (seq?.kind === 'triggered') return this.startSequence(event, seq.stage, seq.sequence);
    const task = parseTaskEventType(event.type);
    if (!task || !event.triggeredid) return;
    const ex = [...this.executions.values()].find(
      (x) => x.task?.id === event.triggeredid && x.context === event.shkeptncontext,
    );
    if (!ex?.task) return;
    if (task.kind === 'started') ex.task.started++;
    else if (task.kind === 'finished') ex.task.finished.push(event.data);
    else return;
    if (ex.task.started > 0 && ex.task.started === ex.task.finished.length) this.completeTask(ex);
  }

  private startSequence(trigger: KeptnEvent, stage: string, sequence: string): void {
    const project = trigger.data.project ?? '';
    const tasks = this.shipyards.get(project)?.[stage]?.[sequence];
    const context = trigger.shkeptncontext ?? randomUUID();
    if (!tasks) {
      this.emit(
        this.event(
          sequenceEventType(stage, sequence, 'finished'),
          context,
          {
            ...scope(trigger.data),
            status: 'errored',
            result: 'fail',
            message: `sequence ${sequence} not found in the shipyard of ${project}`,
          },
          trigger.id,
          trigger.gitcommitid,
        ),
      );
      return;
    }
    const ex: Execution = {
      context,
      trigger,
      stage,
      sequence,
      tasks,
      index: 0,
      gitcommitid: trigger.gitcommitid ?? randomBytes(20).toString('hex'),
      data: keptnMerge(trigger.data, scope(trigger.data)) as KeptnEventData,
    };
    this.executions.set(context, ex);
    this.triggerTask(ex);
  }

  private triggerTask(ex: Execution): void {
    const name = ex.tasks[ex.index]!;
    const data = structuredClone(ex.data);
    if (data.message !== undefined) data.message = '';
    const event = this.event(taskEventType(name, 'triggered'), ex.context, data, undefined, ex.gitcommitid);
    ex.task = { id: event.id, name, started: 0, finished: [] };
    this.emit(event);
  }

  private completeTask(ex: Execution): void {
    const finished = ex.task!.finished;
    let merged: KeptnEventData = ex.data;
    for (const d of finished) merged = keptnMerge(merged, d) as KeptnEventData;
    const { status, result } = aggregate(finished);
    ex.data = { ...merged, status, result };
    ex.task = undefined;
    ex.index++;
    if (result === 'fail' || status === 'errored' || ex.index >= ex.tasks.length)
      return this.finishSequence(ex, status, result);
    this.triggerTask(ex);
  }

  private finishSequence(ex: Execution, status: string, result: string): void {
    this.executions.delete(ex.context);
    this.emit(
      this.event(
        sequenceEventType(ex.stage, ex.sequence, 'finished'),
        ex.context,
        { ...scope(ex.data), status, result },
        ex.trigger.id,
        ex.gitcommitid,
      ),
    );
  }

  private event(
    type: string,
    context: string,
    data: KeptnEventData,
    triggeredid: string | undefined,
    gitcommitid: string | undefined,
  ): KeptnEvent {
    const e: KeptnEvent = {
      specversion: '1.0',
      id: randomUUID(),
      source: 'shipyard-controller',
      type,
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      shkeptncontext: context,
      shkeptnspecversion: '0.2.4',
      data,
    };
    if (triggeredid) e.triggeredid = triggeredid;
    if (gitcommitid) e.gitcommitid = gitcommitid;
    return e;
  }
}

function scope(d: KeptnEventData): KeptnEventData {
  return { project: d.project, stage: d.stage, service: d.service };
}

/** Contract 6.3 aggregation over all `.finished` of a task. */
function aggregate(finished: KeptnEventData[]): { status: string; result: string } {
  const results = finished.map((d) => d.result);
  const statuses = finished.map((d) => d.status);
  let result = results.some((r) => r !== 'pass' && r !== 'warning')
    ? 'fail'
    : results.includes('warning')
      ? 'warning'
      : 'pass';
  const status = statuses.includes('errored')
    ? 'errored'
    : statuses.includes('aborted')
      ? 'aborted'
      : statuses.every((s) => s === 'succeeded')
        ? 'succeeded'
        : 'unknown';
  if (status === 'unknown') result = 'fail';
  return { status, result };
}
