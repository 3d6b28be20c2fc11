import { DEFER_FINISHED, parseTaskEventType, type KeptnEvent, type Logger, type TaskContext, type TaskHandler, type TaskResult } from '../../lib/index.js';
import type { GitopsConfig, ResolvedTarget, Scope } from '../config/gitops-config.js';
import { describeScope, resolveTarget } from '../config/resolve-target.js';
import { DeployError, type DeliveryRecord, type DeployRequest } from '../deployers/deployer.js';
import type { ServiceMetrics } from '../metrics.js';
import { deploymentStrategy, finishedFromError, finishedFromResult } from './finished-data.js';
import { requestedRevision } from './requested-revision.js';
import { ActiveDeliveries } from './active-deliveries.js';
import { journalTarget, type DeliveryJournal } from './delivery-journal.js';
import { deployerFor, MISSING_DEPLOYER_HINT, type ToolDeployers } from './tool-deployers.js';

export interface DeliveryHandlerOptions {
  /** The current targets file; read once per delivery, so a running delivery keeps its target. */
  getConfig: () => GitopsConfig;
  deployers: ToolDeployers;
  logger: Logger;
  metrics?: ServiceMetrics;
  /** Targets being delivered now (for GitOps notifications); default a private tracker. */
  active?: ActiveDeliveries;
  /** Durable records of running deliveries, for adoption after a crash. */
  journal?: DeliveryJournal;
  /** This replica's identity, the owner of its journal entries. */
  owner?: string;
  /** The journal survives this process (a cluster store), so a shutdown may hand deliveries over. */
  durableJournal?: boolean;
  now?: () => number;
}

/**
 * Handles `<task>.triggered` for the deployment tasks: resolve the target, let its deployer deploy
 * and follow, and turn what happened into the `.finished` data of the README's outcome table.
 * It never publishes: the SDK's event loop sends `.started` and `.finished`.
 */
export class DeliveryHandler implements TaskHandler {
  private readonly now: () => number;
  readonly active: ActiveDeliveries;

  constructor(private readonly options: DeliveryHandlerOptions) {
    this.now = options.now ?? Date.now;
    this.active = options.active ?? new ActiveDeliveries();
  }

  /** With a cluster journal, a trigger is acknowledged (JetStream) only once its record is saved. */
  get recordsTasks(): boolean {
    return this.options.durableJournal === true;
  }

  async handle(event: KeptnEvent, ctx: TaskContext): Promise<TaskResult> {
    const scope = scopeOf(event);
    const config = this.options.getConfig();
    const target = resolveTarget(config, scope);
    if (!target) {
      return {
        status: 'errored',
        result: 'fail',
        message: `no target in ${config.file} matches ${describeScope(scope)}: add a rule for it, or narrow this integration's subscription in the Bridge`,
      };
    }
    return this.run(target, deliveryRecord(event, target, this.now()), event.data, ctx, 'new');
  }

  /** Finishes a delivery another instance started (its durable record), without triggering again. */
  async resume(target: ResolvedTarget, record: DeliveryRecord, ctx: TaskContext): Promise<TaskResult> {
    return this.run(target, record, { project: record.project, stage: record.stage, service: record.service }, ctx, 'resume');
  }

  /** Triggers a delivery again whose durable record shows the tool was never triggered (crash in between). */
  async redeliver(target: ResolvedTarget, record: DeliveryRecord, ctx: TaskContext): Promise<TaskResult> {
    return this.run(target, record, { project: record.project, stage: record.stage, service: record.service }, ctx, 'redeliver');
  }

  private async run(
    target: ResolvedTarget,
    delivery: DeliveryRecord,
    data: Record<string, unknown>,
    ctx: TaskContext,
    mode: 'new' | 'redeliver' | 'resume',
  ): Promise<TaskResult> {
    const deployer = deployerFor(this.options.deployers, target);
    if (!deployer) return finishedFromError(new Error(`cannot deliver through ${target.tool}: ${MISSING_DEPLOYER_HINT[target.tool]}`));

    const request: DeployRequest = { target, delivery, signal: ctx.signal };
    const task = parseTaskEventType(delivery.type)?.task ?? 'deliver';
    const started = this.now();
    const release = this.active.add(target);
    const settle = async () => {
      await deployer.settle(request);
      await this.options.journal?.remove(delivery.triggeredid);
    };
    let finished: TaskResult;
    // Whether a record of this delivery is in the journal (a resumed one has one already).
    let recorded = mode === 'resume';
    try {
      if (mode !== 'resume') {
        if (!(await this.journal(target, delivery, mode === 'new'))) {
          ctx.logger.warn('this trigger already has a delivery record (JetStream delivered it again after a crash): the replica of that record sends the .finished');
          return DEFER_FINISHED;
        }
        recorded = true;
        ctx.recorded();
      }
      const result = await (mode === 'resume' ? deployer.resume(request) : deployer.deploy(request));
      this.count(target, 'succeeded', result.result, started);
      finished = finishedFromResult(result, target, deploymentStrategy(data, task));
    } catch (err) {
      if (ctx.signal.aborted && this.options.durableJournal) {
        // Shutting down: the durable record stays, and the instance that adopts it sends the `.finished`.
        ctx.logger.info('delivery handed over: the service is shutting down', { target: target.tool, triggeredid: delivery.triggeredid });
        return DEFER_FINISHED;
      }
      this.count(target, 'errored', 'fail', started);
      if (err instanceof DeployError) {
        finished = finishedFromError(err, target.tool);
      } else {
        ctx.logger.error('delivery failed unexpectedly', { error: (err as Error).stack ?? String(err) });
        finished = finishedFromError(new Error(`${target.tool} delivery failed unexpectedly: ${(err as Error).message}`));
      }
    } finally {
      release();
    }
    if (recorded && (await this.takenOver(delivery.triggeredid, ctx))) return DEFER_FINISHED;
    ctx.afterFinished(settle);
    return finished;
  }

  /**
   * Whether another replica has taken the delivery over: this one was cut off from the API for
   * longer than its Lease, and its record was adopted (or already finished and removed). That
   * replica sends the `.finished`; one from here too would make two. When the record cannot be
   * read, this replica answers: a missing `.finished` would hang the sequence.
   */
  private async takenOver(triggeredid: string, ctx: TaskContext): Promise<boolean> {
    const { journal, owner } = this.options;
    if (!journal?.ownerOf || owner === undefined) return false;
    let current: string | undefined | null;
    try {
      current = await journal.ownerOf(triggeredid);
    } catch (err) {
      ctx.logger.warn('cannot re-read the delivery record before answering; answering anyway', { error: (err as Error).message });
      return false;
    }
    if (current === owner) return false;
    ctx.logger.warn('another replica took this delivery over while this one could not renew its lease; that replica sends the .finished', { owner: current ?? 'none (record removed)' });
    return true;
  }

  /**
   * Recorded before the tool is triggered; a failure here fails the delivery rather than risk an
   * orphan. A new trigger's record must not exist yet (false when it does).
   */
  private async journal(target: ResolvedTarget, delivery: DeliveryRecord, isNew: boolean): Promise<boolean> {
    const { journal, owner } = this.options;
    if (!journal) return true;
    const entry = { ...delivery, target: journalTarget(target), tool: target.tool, owner, resolved: target };
    if (isNew && journal.add) return journal.add(entry);
    await journal.save(entry);
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

function deliveryRecord(event: KeptnEvent, target: ResolvedTarget, now: number): DeliveryRecord {
  const record: DeliveryRecord = {
    ...scopeOf(event),
    type: event.type,
    shkeptncontext: event.shkeptncontext ?? '',
    triggeredid: event.id,
    labels: { ...(event.data.labels ?? {}) },
    startedAt: new Date(now).toISOString(),
    deadline: now + target.timeoutMs,
  };
  if (event.gitcommitid) record.gitcommitid = event.gitcommitid;
  const revision = requestedRevision(event.data);
  if (revision) record.requestedRevision = revision;
  return record;
}
