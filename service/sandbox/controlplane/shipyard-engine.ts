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

/** A shipyard task: its name, or its name and the properties shipyard-controller puts under `data.<name>`. */
export type ShipyardTask = string | { name: string; properties?: Record<string, unknown> };

/**
 * A sequence: its tasks, or its tasks and the events that trigger it (`triggeredOn`, e.g.
 * `dev.delivery.finished`; without a selector it starts when that sequence ended `pass` or `warning`).
 */
export type ShipyardSequence = ShipyardTask[] | { tasks: ShipyardTask[]; triggeredOn?: string[] };

/** `{stage: {sequence: ShipyardSequence}}` for one project. */
export type ShipyardSpec = Record<string, Record<string, ShipyardSequence>>;

interface Execution {
  context: string;
  trigger: KeptnEvent;
  stage: string;
  sequence: string;
  tasks: ShipyardTask[];
  index: number;
  gitcommitid: string;
  data: KeptnEventData;
  task?: { id: string; name: string; started: number; finished: KeptnEventData[] };
  /** The `.finished` data that completed the last task (its labels and message end the sequence). */
  last?: KeptnEventData;
}

/**
 * A tiny shipyard-controller: turns a sequence trigger into its task triggers one after the other
 * (contract 6.2), completes a task when #started == #finished > 0 (6.3), ends with
 * `<stage>.<sequence>.finished`. Like Keptn's sequence dispatcher, one sequence runs at a time per
 * project, stage and service: a later one waits until it finishes (KK
 * `internal/controller/sequencedispatcher.go` `isSequenceBlocked`). Events without project, stage
 * and service are ignored (KK `models/eventscope.go`).
 */
export class ShipyardEngine {
  private readonly shipyards = new Map<string, ShipyardSpec>();
  private readonly executions = new Map<string, Execution>();
  /** Per `project/stage/service`: the sequence triggers waiting for the running one to finish. */
  private readonly waiting = new Map<string, { trigger: KeptnEvent; stage: string; sequence: string }[]>();

  constructor(private readonly emit: (event: KeptnEvent) => void) {}

  setShipyard(project: string, spec: ShipyardSpec): void {
    this.shipyards.set(project, spec);
  }

  hasShipyard(project: string): boolean {
    return this.shipyards.has(project);
  }

  /** The sequence triggers waiting behind a running sequence (Keptn's state `waiting`). */
  waitingSequences(): KeptnEvent[] {
    return [...this.waiting.values()].flat().map((w) => w.trigger);
  }

  onEvent(event: KeptnEvent): void {
    if (!hasScope(event.data)) return;
    const seq = parseSequenceEventType(event.type);
    // shipyard-controller also reads the sequence triggers it sends itself (`triggeredOn`)
    if (event.source === 'shipyard-controller' && seq?.kind !== 'triggered') return;
    if (seq?.kind === 'triggered') return this.dispatchSequence(event, seq.stage, seq.sequence);
    const task = parseTaskEventType(event.type);
    if (!task || !event.triggeredid) return;
    const ex = [...this.executions.values()].find(
      (x) =>
        x.task?.id === event.triggeredid &&
        x.context === event.shkeptncontext &&
        x.trigger.data.project === event.data.project,
    );
    if (!ex?.task) return;
    if (task.kind === 'started') ex.task.started++;
    else if (task.kind === 'finished') ex.task.finished.push(event.data);
    else return;
    if (ex.task.started > 0 && ex.task.started === ex.task.finished.length) this.completeTask(ex);
  }

  /** Starts the sequence now, or queues it behind the one running for the same project, stage and service. */
  private dispatchSequence(trigger: KeptnEvent, stage: string, sequence: string): void {
    const project = trigger.data.project ?? '';
    const context = trigger.shkeptncontext ?? randomUUID();
    if (!this.tasksOf(project, stage, sequence)) {
      this.emit(
        this.event(
          sequenceEventType(stage, sequence, 'finished'),
          context,
          {
            ...eventData(trigger.data),
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
    const key = scopeKey(trigger.data);
    const blocked = [...this.executions.values()].some(
      (x) => x.context !== context && scopeKey(x.data) === key,
    );
    if (blocked) {
      this.waiting.set(key, [...(this.waiting.get(key) ?? []), { trigger, stage, sequence }]);
      return;
    }
    this.startSequence(trigger, stage, sequence, context);
  }

  private startSequence(trigger: KeptnEvent, stage: string, sequence: string, context: string): void {
    const tasks = this.tasksOf(trigger.data.project ?? '', stage, sequence)!;
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

  private tasksOf(project: string, stage: string, sequence: string): ShipyardTask[] | undefined {
    const spec = this.shipyards.get(project)?.[stage]?.[sequence];
    return Array.isArray(spec) ? spec : spec?.tasks;
  }

  /**
   * The sequences of the shipyard triggered on this one's end (KK
   * `internal/controller/shipyardcontroller_utils.go` `GetTaskSequencesByTrigger`): each gets a
   * `<stage>.<sequence>.triggered` with the merged data, its own stage and the same context.
   */
  private triggerNextSequences(ex: Execution, result: string): void {
    if (result !== 'pass' && result !== 'warning') return;
    const finished = `${ex.stage}.${ex.sequence}.finished`;
    for (const [stage, sequences] of Object.entries(
      this.shipyards.get(ex.trigger.data.project ?? '') ?? {},
    )) {
      for (const [sequence, spec] of Object.entries(sequences)) {
        if (Array.isArray(spec) || !spec.triggeredOn?.includes(finished)) continue;
        const data = structuredClone(ex.data);
        if (data.message !== undefined) data.message = '';
        this.emit(
          this.event(
            sequenceEventType(stage, sequence, 'triggered'),
            ex.context,
            { ...data, stage },
            undefined,
            undefined,
          ),
        );
      }
    }
  }

  /** After a sequence finished: the next one waiting for the same project, stage and service starts. */
  private dispatchWaiting(key: string): void {
    const queue = this.waiting.get(key);
    const next = queue?.shift();
    if (!queue?.length) this.waiting.delete(key);
    if (next) this.dispatchSequence(next.trigger, next.stage, next.sequence);
  }

  private triggerTask(ex: Execution): void {
    const task = ex.tasks[ex.index]!;
    const name = typeof task === 'string' ? task : task.name;
    let data = structuredClone(ex.data);
    if (typeof task !== 'string' && task.properties)
      data = keptnMerge(data, { [name]: task.properties }) as KeptnEventData;
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
    ex.last = finished[finished.length - 1];
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
        { ...eventData(ex.last ?? ex.data), ...scope(ex.data), status, result },
        ex.trigger.id,
        ex.gitcommitid,
      ),
    );
    this.triggerNextSequences(ex, result);
    this.dispatchWaiting(scopeKey(ex.data));
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

function hasScope(d: KeptnEventData | undefined): boolean {
  return !!d?.project && !!d.stage && !!d.service;
}

function scopeKey(d: KeptnEventData): string {
  return `${d.project}/${d.stage}/${d.service}`;
}

/** go-utils `EventData`: scope, labels and message (status and result are set by the caller). */
function eventData(d: KeptnEventData): KeptnEventData {
  const out: KeptnEventData = scope(d);
  if (d.labels && Object.keys(d.labels).length > 0) out.labels = d.labels;
  if (d.message) out.message = d.message;
  return out;
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
