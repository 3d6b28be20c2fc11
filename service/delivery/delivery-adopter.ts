import type { EventLoop, Logger } from '../../lib/index.js';
import type { GitopsConfig, ResolvedTarget } from '../config/gitops-config.js';
import { resolveTarget } from '../config/resolve-target.js';
import { adoptOrphanedDeliveries } from './adopt-orphans.js';
import { DELIVERY_PHASES, type DeliveryRecord, type DeliveryStore } from '../state/delivery-record.js';
import type { ReplicaLease } from '../leases/replica-lease.js';
import type { DeliveryHandler } from './delivery-handler.js';
import { targetKey } from '../gitops/identity.js';

export interface DeliveryAdopterOptions {
  store: DeliveryStore;
  replicas: Pick<ReplicaLease, 'identity' | 'liveReplicas'>;
  handler: DeliveryHandler;
  loop: () => EventLoop | undefined;
  getConfig: () => GitopsConfig;
  logger: Logger;
  /**
   * Epoch ms this run of the service began. A trigger can be claimed before the start-up scan
   * runs; its record is this run's, not the previous run's, and must not be adopted a second time.
   */
  runStartedAt: number;
  /** How often the records of dead replicas are looked for; default 15 s. */
  intervalMs?: number;
}

/**
 * Finishes deliveries whose replica died (SIGKILL, node loss): at start-up it takes back this
 * replica's own records (a restarted pod), then keeps claiming the records whose owner's Lease
 * expired. Each is resumed without triggering the tool again and answered with only a `.finished`.
 */
export class DeliveryAdopter {
  private timer?: NodeJS.Timeout;
  private scanning?: Promise<void>;
  private readonly adopted = new Set<string>();

  constructor(private readonly options: DeliveryAdopterOptions) {}

  async start(): Promise<void> {
    await this.scan(true);
    this.timer = setInterval(() => void this.scan(false), this.options.intervalMs ?? 15_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  scan(includeOwn: boolean): Promise<void> {
    this.scanning ??= this.adoptAll(includeOwn)
      .catch((err: Error) =>
        this.options.logger.warn('could not look for orphaned deliveries; will retry', {
          error: err.message,
        }),
      )
      .finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  private async adoptAll(includeOwn: boolean): Promise<void> {
    const { store, replicas, logger, runStartedAt } = this.options;
    const entries = await adoptOrphanedDeliveries({ store, replicas, logger, includeOwn, runStartedAt });
    for (const entry of entries) {
      if (this.adopted.has(entry.triggeredid)) continue;
      this.adopted.add(entry.triggeredid);
      void this.resume(entry)
        .catch((err: Error) =>
          this.options.logger.error('could not finish an adopted delivery', {
            triggeredid: entry.triggeredid,
            error: err.message,
          }),
        )
        .finally(() => this.adopted.delete(entry.triggeredid));
    }
  }

  private async resume(entry: DeliveryRecord): Promise<void> {
    const { handler, logger } = this.options;
    const loop = this.options.loop();
    if (!loop) return;
    const parent = {
      type: entry.type,
      id: entry.triggeredid,
      shkeptncontext: entry.shkeptncontext,
      gitcommitid: entry.gitcommitid,
      data: { project: entry.project, stage: entry.stage, service: entry.service, labels: entry.labels },
    };
    // Claimed, and the process died before its .started went out: send it now.
    const startedFirst =
      entry.phase === DELIVERY_PHASES.claimed
        ? { recorded: () => this.options.store.markStarted(entry.triggeredid) }
        : undefined;
    let target: ResolvedTarget;
    try {
      target = this.targetOf(entry);
    } catch (err) {
      // It can never be resumed: answer it as errored and drop the record, rather than leave the sequence
      // waiting.
      await loop.finishAdopted(
        parent,
        async (ctx) => {
          ctx.afterFinished(() => this.options.store.finish(entry));
          throw err;
        },
        startedFirst,
      );
      return;
    }
    const recovery = await handler.recover(target, { ...entry });
    logger.info('finishing a delivery adopted from its durable record', {
      shkeptncontext: entry.shkeptncontext,
      triggeredid: entry.triggeredid,
      target: entry.target,
    });
    await loop.finishAdopted(parent, (ctx) => handler.finishAdopted(target, recovery, ctx), startedFirst);
  }

  /** The target the delivery started with; else what the current file resolves for its scope. */
  private targetOf(entry: DeliveryRecord): ResolvedTarget {
    if (entry.resolved) return entry.resolved;
    const current = resolveTarget(this.options.getConfig(), entry);
    if (current && (entry.target === undefined || targetKey(current) === entry.target)) return current;
    if (entry.target === undefined)
      throw new Error(`no target matches ${entry.project}/${entry.stage}/${entry.service}`);
    throw new Error(
      `cannot resume ${entry.target}: the record has no target and the targets file no longer maps ${entry.project}/${entry.stage}/${entry.service} to it`,
    );
  }
}
