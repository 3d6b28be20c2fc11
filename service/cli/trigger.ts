import { randomUUID } from 'node:crypto';
import { createSequenceTriggeredEvent, createTaskTriggeredEvent, type KeptnEvent } from '../../lib/index.js';
import type { ServiceEnv } from '../config/env.js';
import { parseDuration } from '../config/duration.js';
import { ExitCode, UnavailableError, UsageError } from './exit-codes.js';
import { ProgressLine } from './progress-line.js';
import { toolPhaseFor, type ToolPhase } from './tool-phase.js';
import { sendThroughApi, watchThroughApi } from './keptn-api-events.js';
import { NatsEventStream } from '../events/nats-event-stream.js';

export interface TriggerArgs {
  project: string;
  stage: string;
  service: string;
  task: string;
  sequence?: string;
  revision?: string;
  wait: boolean;
  timeout: string;
}

const SOURCE = 'keptn-gitops-cli';

/**
 * `keptn-gitops trigger`: a task trigger straight onto NATS (for trying the service without Keptn),
 * or a sequence trigger through NATS or the Keptn API; `--wait` follows the task to its `.finished`.
 * Returns the process exit code: 0 only for result `pass`.
 */
export async function runTrigger(
  args: TriggerArgs,
  env: ServiceEnv,
  out: NodeJS.WriteStream = process.stdout,
): Promise<number> {
  const timeoutMs = parseDuration(args.timeout);
  if (!timeoutMs) throw new UsageError(`--timeout ${args.timeout} is not a duration such as 90s, 10m or 1h`);
  const remote = env.keptnApiEndpoint !== undefined;
  if (remote && !args.sequence) {
    throw new UsageError(
      `a task trigger cannot be sent in remote mode (KEPTN_API_ENDPOINT is set): Keptn's API rejects task .triggered events; use --sequence <name> to start a sequence instead`,
    );
  }
  const event = buildTrigger(args);
  const progress = new ProgressLine(out);
  const stream = remote ? undefined : await connectNats(env.eventBroker);
  try {
    const context = remote
      ? await sendThroughApi(env, event)
      : (await stream!.publish(event), event.shkeptncontext!);
    progress.note(`${event.type} sent (shkeptncontext ${context})`);
    if (!args.wait) return ExitCode.Ok;
    const scope = `${args.project}/${args.stage}/${args.service}`;
    progress.update(
      args.sequence
        ? `waiting for the control plane to start sequence ${args.sequence} and trigger ${args.task} for ${scope}`
        : `waiting for ${args.task}.started from an integration subscribed to ${args.task} for ${scope}`,
    );
    const events = remote ? watchThroughApi(env, context, args.project) : stream!.events();
    const followed = {
      context,
      task: args.task,
      scope,
      triggerId: args.sequence ? undefined : event.id,
      sequence: args.sequence ? { stage: args.stage, name: args.sequence } : undefined,
    };
    const phase = toolPhaseFor(env, { project: args.project, stage: args.stage, service: args.service });
    try {
      const ending = await followTask(events, followed, progress, timeoutMs, phase);
      return report(ending, followed, args.timeout, progress, out);
    } finally {
      await phase?.close();
    }
  } finally {
    progress.done();
    await stream?.close();
  }
}

async function connectNats(servers: string): Promise<NatsEventStream> {
  try {
    return await NatsEventStream.connect({ servers, subject: 'sh.keptn.>' });
  } catch (err) {
    throw new UnavailableError(`${(err as Error).message}; is EVENTBROKER right and NATS running?`, {
      cause: err,
    });
  }
}

function buildTrigger(args: TriggerArgs): KeptnEvent {
  const data: Record<string, unknown> = {
    project: args.project,
    stage: args.stage,
    service: args.service,
    labels: {},
  };
  if (args.revision) data.gitops = { revision: args.revision, stage: args.stage };
  if (args.sequence) {
    return createSequenceTriggeredEvent({
      stage: args.stage,
      sequence: args.sequence,
      source: SOURCE,
      data: data as { project: string; service: string },
    });
  }
  return createTaskTriggeredEvent({ task: args.task, source: SOURCE, data, shkeptncontext: randomUUID() });
}

interface Followed {
  context: string;
  task: string;
  /** project/stage/service, for the messages. */
  scope: string;
  /** The task trigger's id when we sent it ourselves; else learned from the sequence's task trigger. */
  triggerId?: string;
  sequence?: { stage: string; name: string };
}

/** How far the task got before the wait ended. */
interface Reached {
  /** The task's .triggered seen (always true for a task trigger we sent). */
  triggered: boolean;
  /** The integration that sent .started. */
  startedBy?: string;
}

type Ending =
  | { kind: 'task'; event: KeptnEvent }
  | { kind: 'sequence'; event: KeptnEvent }
  | { kind: 'timeout'; reached: Reached };

/** How often the tool's phase is read while the task runs. */
const PHASE_INTERVAL_MS = 2000;

async function followTask(
  events: AsyncIterable<KeptnEvent>,
  followed: Followed,
  progress: ProgressLine,
  timeoutMs: number,
  phase?: ToolPhase,
): Promise<Ending> {
  const prefix = `sh.keptn.event.${followed.task}.`;
  const sequenceFinished =
    followed.sequence && `sh.keptn.event.${followed.sequence.stage}.${followed.sequence.name}.finished`;
  let triggerId = followed.triggerId;
  const reached: Reached = { triggered: triggerId !== undefined };
  const timer = new Promise<Ending>((resolve) =>
    setTimeout(() => resolve({ kind: 'timeout', reached }), timeoutMs).unref(),
  );
  let stopPhase: (() => void) | undefined;
  const watch = (async (): Promise<Ending> => {
    for await (const event of events) {
      if (event.shkeptncontext !== followed.context) continue;
      if (!triggerId && event.type === `${prefix}triggered`) {
        triggerId = event.id;
        reached.triggered = true;
        progress.update(
          `${followed.task} triggered by ${event.source}; waiting for ${followed.task}.started from an integration subscribed to ${followed.task} for ${followed.scope}`,
        );
      } else if (triggerId && event.triggeredid === triggerId && event.type === `${prefix}started`) {
        reached.startedBy = event.source;
        const keptn = `${followed.task} started by ${event.source}; waiting for ${followed.task}.finished`;
        progress.update(keptn);
        stopPhase ??= phase && followPhase(phase, (text) => progress.update(`${keptn}; ${text}`));
      } else if (triggerId && event.triggeredid === triggerId && event.type === `${prefix}finished`) {
        return { kind: 'task', event };
      } else if (event.type === sequenceFinished) {
        return { kind: 'sequence', event };
      }
    }
    return { kind: 'timeout', reached };
  })();
  try {
    return await Promise.race([watch, timer]);
  } finally {
    stopPhase?.();
  }
}

/** Reads the tool's phase every PHASE_INTERVAL_MS and reports it when it changed; returns the stop. */
function followPhase(phase: ToolPhase, report: (text: string) => void): () => void {
  let last: string | undefined;
  let reading = false;
  let stopped = false;
  const tick = () => {
    if (reading) return;
    reading = true;
    void phase
      .read()
      .then((text) => {
        if (!stopped && text && text !== last) report(text);
        last = text ?? last;
      })
      .finally(() => (reading = false));
  };
  tick();
  const timer = setInterval(tick, PHASE_INTERVAL_MS).unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

function report(
  ending: Ending,
  followed: Followed,
  timeout: string,
  progress: ProgressLine,
  out: NodeJS.WriteStream,
): number {
  progress.done();
  if (ending.kind === 'timeout') {
    const { reached } = ending;
    if (reached.startedBy) {
      out.write(
        `result:   none: ${followed.task} was started by ${reached.startedBy} but did not finish within ${timeout}\n`,
      );
      return ExitCode.NotFinished;
    }
    const why = reached.triggered
      ? `no .started came within ${timeout}: no integration took ${followed.task} for ${followed.scope}. Is keptn-gitops serve running, and does its targets file have a rule for this scope (keptn-gitops check)?`
      : `the control plane did not trigger ${followed.task} within ${timeout}: does sequence ${followed.sequence?.name} of stage ${followed.sequence?.stage} contain a task ${followed.task}?`;
    out.write(`result:   none: ${why}\n`);
    return ExitCode.NotStarted;
  }
  const data = ending.event.data;
  const gitops = (data.gitops ?? {}) as Record<string, unknown>;
  const lines = [
    ['result', data.result ?? ''],
    ['status', data.status ?? ''],
    ['message', data.message ?? ''],
    ['revision', gitops.revision ?? ''],
  ];
  if (ending.kind === 'sequence')
    lines.unshift(['sequence', `${ending.event.type} before the task finished`]);
  for (const [key, value] of lines) out.write(`${`${key}:`.padEnd(10)}${String(value)}\n`);
  return data.result === 'pass' ? ExitCode.Ok : ExitCode.Failed;
}
