import { UsageError } from './usage-error.js';
import { randomUUID } from 'node:crypto';
import { createSequenceTriggeredEvent, createTaskTriggeredEvent, type KeptnEvent } from '../../lib/index.js';
import type { ServiceEnv } from '../config/env.js';
import { parseDuration } from '../config/duration.js';
import { ProgressLine } from './progress-line.js';
import { sendThroughApi, watchThroughApi } from './keptn-api-events.js';
import { NatsEventStream } from './nats-event-stream.js';

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
export async function runTrigger(args: TriggerArgs, env: ServiceEnv, out: NodeJS.WriteStream = process.stdout): Promise<number> {
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
  const stream = remote ? undefined : await NatsEventStream.connect({ servers: env.eventBroker, subject: 'sh.keptn.>' });
  try {
    const context = remote ? await sendThroughApi(env, event) : (await stream!.publish(event), event.shkeptncontext!);
    progress.note(`${event.type} sent (shkeptncontext ${context})`);
    if (!args.wait) return 0;
    const events = remote ? watchThroughApi(env, context, args.project) : stream!.events();
    const finished = await followTask(events, { context, task: args.task, triggerId: args.sequence ? undefined : event.id, sequence: args.sequence ? { stage: args.stage, name: args.sequence } : undefined }, progress, timeoutMs);
    return report(finished, progress, out);
  } finally {
    progress.done();
    await stream?.close();
  }
}


function buildTrigger(args: TriggerArgs): KeptnEvent {
  const data: Record<string, unknown> = { project: args.project, stage: args.stage, service: args.service, labels: {} };
  if (args.revision) data.gitops = { revision: args.revision, stage: args.stage };
  if (args.sequence) {
    return createSequenceTriggeredEvent({ stage: args.stage, sequence: args.sequence, source: SOURCE, data: data as { project: string; service: string } });
  }
  return createTaskTriggeredEvent({ task: args.task, source: SOURCE, data, shkeptncontext: randomUUID() });
}

interface Followed {
  context: string;
  task: string;
  /** The task trigger's id when we sent it ourselves; else learned from the sequence's task trigger. */
  triggerId?: string;
  sequence?: { stage: string; name: string };
}

type Ending = { kind: 'task'; event: KeptnEvent } | { kind: 'sequence'; event: KeptnEvent } | { kind: 'timeout' };

async function followTask(events: AsyncIterable<KeptnEvent>, followed: Followed, progress: ProgressLine, timeoutMs: number): Promise<Ending> {
  const prefix = `sh.keptn.event.${followed.task}.`;
  const sequenceFinished = followed.sequence && `sh.keptn.event.${followed.sequence.stage}.${followed.sequence.name}.finished`;
  let triggerId = followed.triggerId;
  const timer = new Promise<Ending>((resolve) => setTimeout(() => resolve({ kind: 'timeout' }), timeoutMs).unref());
  const watch = (async (): Promise<Ending> => {
    for await (const event of events) {
      if (event.shkeptncontext !== followed.context) continue;
      if (!triggerId && event.type === `${prefix}triggered`) {
        triggerId = event.id;
        progress.update(`${followed.task} triggered by ${event.source}, waiting for an executor`);
      } else if (triggerId && event.triggeredid === triggerId && event.type === `${prefix}started`) {
        progress.update(`${followed.task} started by ${event.source}`);
      } else if (triggerId && event.triggeredid === triggerId && event.type === `${prefix}finished`) {
        return { kind: 'task', event };
      } else if (event.type === sequenceFinished) {
        return { kind: 'sequence', event };
      }
    }
    return { kind: 'timeout' };
  })();
  return Promise.race([watch, timer]);
}

function report(ending: Ending, progress: ProgressLine, out: NodeJS.WriteStream): number {
  progress.done();
  if (ending.kind === 'timeout') {
    out.write('result:   none (timed out waiting for the task to finish)\n');
    return 2;
  }
  const data = ending.event.data;
  const gitops = (data.gitops ?? {}) as Record<string, unknown>;
  const lines = [
    ['result', data.result ?? ''],
    ['status', data.status ?? ''],
    ['message', data.message ?? ''],
    ['revision', gitops.revision ?? ''],
  ];
  if (ending.kind === 'sequence') lines.unshift(['sequence', `${ending.event.type} before the task finished`]);
  for (const [key, value] of lines) out.write(`${`${key}:`.padEnd(10)}${String(value)}\n`);
  return data.result === 'pass' ? 0 : 1;
}
