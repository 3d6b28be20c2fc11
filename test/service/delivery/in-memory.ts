import { Registry } from 'prom-client';
import {
  EventLoop,
  type EventSink,
  type EventSource,
  type IncomingMessage,
  type KeptnEvent,
} from '../../../lib/index.js';
import type { GitopsConfig, ResolvedTarget } from '../../../service/config/gitops-config.js';
import { parseTargetsFile } from '../../../service/config/targets-loader.js';
import type { Deployer, DeployRequest, DeployResult, Recovery } from '../../../service/deployers/deployer.js';
import { createServiceMetrics, type ServiceMetrics } from '../../../service/metrics.js';
import type { DeliveryRecord, DeliveryStore } from '../../../service/state/delivery-record.js';
import { MemoryDeliveryStore } from '../../../service/state/memory-delivery-store.js';
import { RecordingLogger } from '../../support/recording-logger.js';
import { taskTrigger } from '../../lib/harness.js';

/**
 * The delivery path without a network: the SDK's event loop over an in-memory bus, the memory delivery
 * store, and a deployer the test scripts. Every step that a user could see (an answer on the bus, a
 * record write, a deployer call) is appended to one `steps` list, so tests can assert their order.
 */

export const TARGETS_FILE = '/etc/keptn-gitops/targets.yaml';

/** dev: Flux (30 s), prod: Argo CD (45 s); any other scope matches no rule. */
export function targetsConfig(
  text = `targets:
  - match: {project: shop, stage: dev}
    flux: {kind: Kustomization, name: "\${service}", namespace: flux-system}
    deploymentName: podinfo-primary
    timeout: 30s
  - match: {project: shop, stage: prod}
    argocd: {application: "\${service}-prod"}
    timeout: 45s
`,
): GitopsConfig {
  return parseTargetsFile(text, TARGETS_FILE, {
    ARGOCD_SERVER: 'https://argocd.example.com',
    ARGOCD_AUTH_TOKEN: 't0k3n',
  });
}

let nextId = 0;

/** A `.triggered` as shipyard-controller sends it. */
export function trigger(
  scope: { project?: string; stage?: string; service?: string } = {},
  data: Record<string, unknown> = {},
  task = 'deliver',
): KeptnEvent {
  const defaults = { project: 'shop', stage: 'dev', service: 'podinfo', labels: { team: 'a' } };
  return taskTrigger(task, { ...defaults, ...scope, ...data }, { id: `trigger-${++nextId}` });
}

/** Source and sink of the event loop: triggers go in by hand, answers are kept in order. */
export class MemoryBus implements EventSource, EventSink {
  readonly kind = 'memory';
  readonly published: KeptnEvent[] = [];
  private deliver?: (message: IncomingMessage) => void;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly steps: string[]) {}

  async start(deliver: (message: IncomingMessage) => void): Promise<void> {
    this.deliver = deliver;
  }
  async setSubscriptions(): Promise<void> {}
  isSubscribed(): boolean {
    return true;
  }
  async stop(): Promise<void> {}
  async close(): Promise<void> {}

  async publish(event: KeptnEvent): Promise<void> {
    this.published.push(event);
    this.steps.push(`.${event.type.split('.').pop()}`);
    for (const wake of this.waiters) wake();
  }

  send(event: KeptnEvent): void {
    this.deliver!({ data: JSON.stringify(event), subject: event.type });
  }

  answers(triggeredid: string): { started: KeptnEvent[]; finished: KeptnEvent[] } {
    const of = (kind: string) =>
      this.published.filter((e) => e.triggeredid === triggeredid && e.type.endsWith(`.${kind}`));
    return { started: of('started'), finished: of('finished') };
  }

  /** The `.finished` of a trigger, once it is sent. */
  finished(triggeredid: string, timeoutMs = 3000): Promise<KeptnEvent> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const [finished] = this.answers(triggeredid).finished;
        if (!finished) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(finished);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no .finished for ${triggeredid} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }
}

/**
 * The memory store, optionally `durable` (as the cluster store is), writing its steps to `steps` and
 * failing `ownerOf` on demand.
 */
export class StepStore implements DeliveryStore {
  readonly memory: MemoryDeliveryStore;
  readonly creates: { record: DeliveryRecord; options?: { deadline?: number; signal?: AbortSignal } }[] = [];
  ownerOfFails?: Error;
  listFails?: Error;

  constructor(
    private readonly steps: string[],
    readonly durable: boolean,
    now: () => number,
  ) {
    this.memory = new MemoryDeliveryStore(now);
  }

  async create(
    record: DeliveryRecord,
    options?: { deadline?: number; signal?: AbortSignal },
  ): Promise<boolean> {
    this.creates.push({ record: structuredClone(record), options });
    const created = await this.memory.create(record);
    this.steps.push(created ? 'record claimed' : 'record exists');
    return created;
  }
  async markStarted(triggeredid: string): Promise<void> {
    await this.memory.markStarted(triggeredid);
    this.steps.push('record started');
  }
  async finish(record: DeliveryRecord): Promise<void> {
    await this.memory.finish(record);
    this.steps.push('record finished');
  }
  remove(triggeredid: string): Promise<void> {
    return this.memory.remove(triggeredid);
  }
  list(): Promise<DeliveryRecord[]> {
    if (this.listFails) return Promise.reject(this.listFails);
    return this.memory.list();
  }
  ownerOf(triggeredid: string): Promise<string | undefined | null> {
    if (this.ownerOfFails) return Promise.reject(this.ownerOfFails);
    return this.memory.ownerOf(triggeredid);
  }
  claim(
    triggeredid: string,
    newOwner: string,
    expectedOwner: string | undefined,
    read?: Pick<DeliveryRecord, 'claim'>,
  ): Promise<boolean> {
    return this.memory.claim(triggeredid, newOwner, expectedOwner, read);
  }

  async record(triggeredid: string): Promise<DeliveryRecord | undefined> {
    return (await this.memory.list()).find((r) => r.triggeredid === triggeredid);
  }
}

/** What the scripted deployer answers a call with: a result, or a throw. */
export type Outcome = Partial<DeployResult> | Error;

/** A deployer whose deliveries end as the test says, each call written to `steps`. */
export class ScriptedDeployer implements Deployer {
  readonly requests: { call: 'deploy' | 'resume' | 'settle'; request: DeployRequest }[] = [];
  /** What `deploy` and `resume` answer; a function runs while the delivery is in flight. */
  outcome: Outcome | ((request: DeployRequest) => Promise<Outcome>) = {};
  recovery: Recovery['mode'] | Error = 'resume';
  recovered: DeliveryRecord[] = [];

  constructor(private readonly steps: string[]) {}

  deploy(request: DeployRequest): Promise<DeployResult> {
    return this.answer('deploy', request);
  }
  resume(request: DeployRequest): Promise<DeployResult> {
    return this.answer('resume', request);
  }
  async settle(request: DeployRequest): Promise<void> {
    this.requests.push({ call: 'settle', request });
    this.steps.push('settle');
  }
  async recover(_target: ResolvedTarget, delivery: DeliveryRecord): Promise<Recovery> {
    this.recovered.push(delivery);
    if (this.recovery instanceof Error) throw this.recovery;
    return { mode: this.recovery, delivery: { ...delivery, token: 'recovered' } };
  }
  async nudge(): Promise<void> {}
  async close(): Promise<void> {}

  private async answer(call: 'deploy' | 'resume', request: DeployRequest): Promise<DeployResult> {
    this.requests.push({ call, request });
    this.steps.push(call);
    const outcome = typeof this.outcome === 'function' ? await this.outcome(request) : this.outcome;
    if (outcome instanceof Error) throw outcome;
    return {
      result: 'pass',
      message: `deployed ${request.delivery.service}`,
      target: `Kustomization/flux-system/${request.delivery.service}`,
      tool: request.target.tool,
      revision: 'main@sha1:696f056df216eea4f9401adbee0ff744d4df390f',
      images: ['ghcr.io/stefanprodan/podinfo:6.5.0'],
      externalURLs: ['https://podinfo.example.com'],
      startedAt: '2026-12-06T18:00:00.000Z',
      finishedAt: '2026-12-06T18:00:05.000Z',
      ...outcome,
    };
  }
}

/** A clock the test moves. */
export class ManualClock {
  constructor(public ms = Date.parse('2026-12-06T18:00:00.000Z')) {}
  readonly now = () => this.ms;
}

/** The parts of one delivery path, built fresh per test. */
export class InMemoryDelivery {
  readonly steps: string[] = [];
  readonly bus = new MemoryBus(this.steps);
  readonly logger = new RecordingLogger();
  readonly clock = new ManualClock();
  readonly registry = new Registry();
  readonly metrics: ServiceMetrics = createServiceMetrics(this.registry);
  readonly deployer = new ScriptedDeployer(this.steps);
  readonly store: StepStore;
  readonly loop: EventLoop;
  config = targetsConfig();
  /** Whether the deployers have one for a tool (false: the tool is not configured). */
  toolConfigured = true;

  constructor(options: { durable?: boolean } = {}) {
    this.store = new StepStore(this.steps, options.durable ?? false, this.clock.now);
    this.loop = new EventLoop({
      name: 'gitops-service',
      source: this.bus,
      sink: this.bus,
      logger: this.logger,
      abortGraceMs: 1000,
    });
  }

  readonly deployers = { for: () => (this.toolConfigured ? this.deployer : undefined) };
  readonly getConfig = () => this.config;

  /** Lets running deliveries end (their `afterFinished` work included); aborts those past `deadlineMs`. */
  stop(deadlineMs = 3000): Promise<void> {
    return this.loop.stop({ deadlineMs });
  }

  errors(): { message: string; meta: Record<string, unknown> }[] {
    return this.logger.entries.filter((e) => e.level === 'error');
  }
}

/** A promise with its resolve function, for deliveries the test lets end by hand. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
