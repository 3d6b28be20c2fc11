import { randomUUID } from 'node:crypto';
import {
  DEFER_FINISHED,
  parseTaskEventType,
  type KeptnEvent,
  type TaskClaim,
  type TaskContext,
  type TaskHandler,
  type TaskResult,
} from '../../lib/index.js';
import type { GitopsConfig, ResolvedTarget, Scope } from '../config/gitops-config.js';
import { describeScope, resolveTarget } from '../config/resolve-target.js';
import { DeployError, type DeployRequest, type Recovery } from '../deployers/deployer.js';
import type { ServiceMetrics } from '../metrics.js';
import { DELIVERY_PHASES, type DeliveryRecord, type DeliveryStore } from '../state/delivery-record.js';
import { MemoryDeliveryStore } from '../state/memory-delivery-store.js';
import { deploymentStrategy, finishedFromError, finishedFromResult } from './finished-data.js';
import { requestedRevision } from './requested-revision.js';
import { ActiveDeliveries } from './active-deliveries.js';
import { MISSING_DEPLOYER_HINT, type ToolDeployers } from './tool-deployers.js';
import { targetKey } from '../gitops/identity.js';

export interface DeliveryHandlerOptions {
  /** The current targets file; read once per delivery, so a running delivery keeps its target. */
  getConfig: () => GitopsConfig;
  deployers: Pick<ToolDeployers, 'for'>;
  logger: TaskContext['logger'];
  metrics?: ServiceMetrics;
  /** Targets being delivered now (for GitOps notifications); default a private tracker. */
  active?: ActiveDeliveries;
  /** The delivery records; default in memory (one replica, nothing survives a restart). */
  store?: DeliveryStore;
  /** This replica's identity, the owner of the records it creates. */
  owner?: string;
  now?: () => number;
}

/** How long claiming a trigger that matches no target may be retried. */
const UNMATCHED_CLAIM_MS = 60_000;

/**
 * Handles `<task>.triggered` for the deployment tasks: claim the trigger by creating its record
 * (before the SDK sends `.started`), resolve the target, let its deployer deploy and follow, turn
 * what happened into the `.finished` data of the README's outcome table, and record once the
 * `.finished` is sent. It never publishes: the SDK's event loop sends `.started` and `.finished`.
 */
export class DeliveryHandler implements TaskHandler {
  private readonly now: () => number;
  readonly active: ActiveDeliveries;
  readonly store: DeliveryStore;
  /** Records this replica created, from its claim to its handling. */
  private readonly claimed = new Map<string, DeliveryRecord>();

  constructor(private readonly options: DeliveryHandlerOptions) {
    this.now = options.now ?? Date.now;
    this.active = options.active ?? new ActiveDeliveries();
    this.store = options.store ?? new MemoryDeliveryStore(this.now);
  }

  /**
   * Creates the trigger's record if it has none: the one replica whose create succeeds answers;
   * for every other (and for a redelivery or replay, even after the delivery finished) the record
   * exists and the trigger is `taken`. Retried until the target's timeout.
   */
  async claim(event: KeptnEvent, signal: AbortSignal): Promise<TaskClaim> {
    const target = resolveTarget(this.options.getConfig(), scopeOf(event));
    const record = deliveryRecord(event, target, this.now(), this.options.owner);
    const created = await this.store.create(record, {
      deadline: target ? record.deadline : this.now() + UNMATCHED_CLAIM_MS,
      signal,
    });
    if (!created) return 'taken';
    this.claimed.set(event.id, record);
    return 'ours';
  }

  /** The `.started` is on the bus: a restart or an adopter must not send it again. */
  async started(event: KeptnEvent): Promise<void> {
    await this.store.markStarted(event.id);
  }

  async handle(event: KeptnEvent, ctx: TaskContext): Promise<TaskResult> {
    const record =
      this.claimed.get(event.id) ??
      deliveryRecord(
        event,
        resolveTarget(this.options.getConfig(), scopeOf(event)),
        this.now(),
        this.options.owner,
      );
    this.claimed.delete(event.id);
    const target = record.resolved;
    if (!target) {
      ctx.afterFinished(() => this.store.finish(record));
      const config = this.options.getConfig();
      return {
        status: 'errored',
        result: 'fail',
        message: `no target in ${config.file} matches ${describeScope(scopeOf(event))}: add a rule for it, or narrow this integration's subscription in the Bridge`,
      };
    }
    return this.run(target, record, event.data, ctx, 'deploy');
  }

  /**
   * How to go on with an adopted record: its deployer tells whether the tool was triggered. Without a
   * deployer the delivery is answered errored either way.
   */
  recover(target: ResolvedTarget, record: DeliveryRecord): Promise<Recovery> {
    const deployer = this.options.deployers.for(target);
    return deployer
      ? deployer.recover(target, record)
      : Promise.resolve({ mode: 'deploy', delivery: record });
  }

  /**
   * Finishes a delivery adopted from its durable record as `recover` said: follows what another
   * instance triggered without triggering again, or triggers it (a crash came in between).
   */
  async finishAdopted(target: ResolvedTarget, recovery: Recovery, ctx: TaskContext): Promise<TaskResult> {
    const { delivery, mode } = recovery;
    const scope = { project: delivery.project, stage: delivery.stage, service: delivery.service };
    return this.run(target, delivery, scope, ctx, mode);
  }

  private async run(
    target: ResolvedTarget,
    delivery: DeliveryRecord,
    data: Record<string, unknown>,
    ctx: TaskContext,
    mode: 'deploy' | 'resume',
  ): Promise<TaskResult> {
    const deployer = this.options.deployers.for(target);
    const settle = async (request?: DeployRequest) => {
      // The tombstone first: were the tool's marker cleared first and this write lost, a restart would
      // deliver again.
      await this.store.finish(delivery);
      if (request) await deployer?.settle(request);
    };
    if (!deployer) {
      ctx.afterFinished(() => settle());
      return finishedFromError(
        new Error(`cannot deliver through ${target.tool}: ${MISSING_DEPLOYER_HINT[target.tool]}`),
      );
    }

    const request: DeployRequest = { target, delivery, signal: ctx.signal };
    const task = parseTaskEventType(delivery.type)?.task ?? 'deliver';
    const started = this.now();
    const release = this.active.add(target);
    let finished: TaskResult;
    try {
      const result = await (mode === 'resume' ? deployer.resume(request) : deployer.deploy(request));
      this.count(target, 'succeeded', result.result, started);
      finished = finishedFromResult(result, target, deploymentStrategy(data, task));
    } catch (err) {
      if (ctx.signal.aborted && this.store.durable) {
        // Shutting down: the durable record stays, and the instance that adopts it sends the `.finished`.
        ctx.logger.info('delivery handed over: the service is shutting down', {
          target: target.tool,
          triggeredid: delivery.triggeredid,
        });
        return DEFER_FINISHED;
      }
      this.count(target, 'errored', 'fail', started);
      this.options.metrics?.deliveryErrors.inc({
        tool: target.tool,
        reason: err instanceof DeployError ? err.kind : 'unexpected',
      });
      if (err instanceof DeployError) {
        finished = finishedFromError(err, target.tool);
      } else {
        ctx.logger.error('delivery failed unexpectedly', { error: (err as Error).stack ?? String(err) });
        finished = finishedFromError(
          new Error(`${target.tool} delivery failed unexpectedly: ${(err as Error).message}`),
        );
      }
    } finally {
      release();
    }
    if (await this.takenOver(delivery.triggeredid, ctx)) return DEFER_FINISHED;
    ctx.afterFinished(() => settle(request));
    return finished;
  }

  /**
   * Whether another replica has taken the delivery over: this one was cut off from the API for
   * longer than its Lease, and its record was adopted. That replica sends the `.finished`; one from
   * here too would make two. When the record cannot be read, this replica answers: a missing
   * `.finished` would hang the sequence.
   */
  private async takenOver(triggeredid: string, ctx: TaskContext): Promise<boolean> {
    const { owner } = this.options;
    if (!this.store.durable || owner === undefined) return false;
    let current: string | undefined | null;
    try {
      current = await this.store.ownerOf(triggeredid);
    } catch (err) {
      ctx.logger.warn('cannot re-read the delivery record before answering; answering anyway', {
        error: (err as Error).message,
      });
      return false;
    }
    if (current === owner) return false;
    ctx.logger.warn(
      'another replica took this delivery over while this one could not renew its lease; that replica sends the .finished',
      { owner: current ?? 'none (record removed)' },
    );
    return true;
  }

  private count(target: ResolvedTarget, status: string, result: string, started: number): void {
    this.options.metrics?.deliveries.inc({ tool: target.tool, status, result });
    this.options.metrics?.deliveryDuration.observe({ tool: target.tool }, (this.now() - started) / 1000);
  }
}

function scopeOf(event: KeptnEvent): Scope {
  const { project = '', stage = '', service = '' } = event.data;
  return { project, stage, service };
}

function deliveryRecord(
  event: KeptnEvent,
  target: ResolvedTarget | undefined,
  now: number,
  owner: string | undefined,
): DeliveryRecord {
  const record: DeliveryRecord = {
    ...scopeOf(event),
    type: event.type,
    shkeptncontext: event.shkeptncontext ?? '',
    triggeredid: event.id,
    labels: { ...(event.data.labels ?? {}) },
    startedAt: new Date(now).toISOString(),
    deadline: now + (target?.timeoutMs ?? UNMATCHED_CLAIM_MS),
    phase: DELIVERY_PHASES.claimed,
    claim: randomUUID(),
  };
  if (target) Object.assign(record, { target: targetKey(target), tool: target.tool, resolved: target });
  if (owner !== undefined) record.owner = owner;
  if (event.gitcommitid) record.gitcommitid = event.gitcommitid;
  const revision = requestedRevision(event.data);
  if (revision) record.requestedRevision = revision;
  return record;
}
