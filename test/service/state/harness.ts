import { startKubeSandbox, type KubeSandbox } from '../../support/kube.js';
import type { DeliveryRecord } from '../../../service/state/delivery-record.js';

export const NAMESPACE = 'keptn';
export const INTEGRATION = 'gitops-service';

export function deliveryRecord(triggeredid: string, extra: Partial<DeliveryRecord> = {}): DeliveryRecord {
  return {
    type: 'sh.keptn.event.deliver.triggered',
    shkeptncontext: 'a3e5f16d-8888-4720-82c7-6995062905c1',
    triggeredid,
    project: 'sockshop',
    stage: 'dev',
    service: 'carts',
    labels: { owner: 'team-a' },
    startedAt: '2026-01-01T00:00:00.000Z',
    deadline: 1_800_000_000_000,
    target: 'Application/argocd/carts-dev',
    tool: 'argocd',
    token: 'sync-1',
    phase: 'started',
    ...extra,
  };
}

/** Runs `stop` for everything a test started, last first, even when one of them fails. */
export class Cleanup {
  private readonly steps: (() => Promise<void> | void)[] = [];
  add<T>(value: T, stop: (value: T) => Promise<void> | void): T {
    this.steps.push(() => stop(value));
    return value;
  }
  async run(): Promise<void> {
    while (this.steps.length) {
      try {
        await this.steps.pop()!();
      } catch {
        // a failed stop must not keep the rest running
      }
    }
  }
}

/**
 * A fresh simulated Kubernetes API per test, with a Cleanup that stops it and whatever the test
 * registers. Call inside `describe`; read `ctx.kube` and `ctx.cleanup` inside tests.
 */
export function kubeSandboxPerTest(): { kube: KubeSandbox; cleanup: Cleanup } {
  const ctx = {} as { kube: KubeSandbox; cleanup: Cleanup };
  beforeEach(async () => {
    ctx.cleanup = new Cleanup();
    ctx.kube = await startKubeSandbox();
    ctx.cleanup.add(ctx.kube.sim, (sim) => sim.stop());
  });
  afterEach(() => ctx.cleanup.run());
  return ctx;
}
