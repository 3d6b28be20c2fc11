import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  encodeKeptnEvent,
  KeptnIntegration,
  silentLogger,
  type KeptnEvent,
  type KeptnIntegrationOptions,
  type Subscription,
} from '../../lib/index.js';
import { ControlPlaneSimulator } from '../../service/sandbox/controlplane/control-plane-simulator.js';
import { NatsServer } from '../support/nats-server.js';

export const metadata = {
  hostname: 'node-1',
  integrationVersion: '0.1.0',
  location: 'control-plane',
  namespace: 'keptn',
  podName: 'pod-1',
  deploymentName: 'gitops-service',
};

/** A task trigger as shipyard-controller sends it. */
export function taskTrigger(
  task: string,
  data: Record<string, unknown> = {},
  extra: Partial<KeptnEvent> = {},
): KeptnEvent {
  return {
    specversion: '1.0',
    id: randomUUID(),
    source: 'shipyard-controller',
    type: `sh.keptn.event.${task}.triggered`,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    shkeptncontext: randomUUID(),
    shkeptnspecversion: '0.2.4',
    gitcommitid: 'f00dcafe',
    data: { project: 'sockshop', stage: 'dev', service: 'carts', labels: { l: 'v' }, ...data },
    ...extra,
  };
}

/**
 * A real nats-server, the simulated control plane, a publisher connection, and the integrations started on
 * them.
 */
export class NatsHarness {
  readonly integrations: KeptnIntegration[] = [];
  private constructor(
    readonly nats: NatsServer,
    readonly sim: ControlPlaneSimulator,
    readonly nc: NatsConnection,
  ) {}

  static async start(options: { jetstream?: boolean } = {}): Promise<NatsHarness> {
    const nats = await NatsServer.start({ jetstream: options.jetstream });
    const sim = await ControlPlaneSimulator.start({ natsUrl: nats.url, jetstream: options.jetstream });
    const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 50 });
    return new NatsHarness(nats, sim, nc);
  }

  integration(
    overrides: Partial<KeptnIntegrationOptions> & { subscriptions?: Subscription[] } = {},
  ): KeptnIntegration {
    const i = new KeptnIntegration({
      name: 'gitops-service',
      mode: {
        kind: 'nats',
        servers: this.nats.url,
        shipyardController: this.sim.url,
        jetstream: 'false',
        reconnectTimeWaitMs: 50,
      },
      metadata,
      subscriptions: [{ event: 'sh.keptn.event.deliver.triggered' }],
      logger: silentLogger,
      pingIntervalMs: 50,
      registrationRetry: { initialMs: 20, maxMs: 100 },
      healthPort: 0,
      healthHost: '127.0.0.1',
      ...overrides,
    });
    this.integrations.push(i);
    return i;
  }

  async publish(event: KeptnEvent | string | Uint8Array, subject?: string): Promise<void> {
    const s =
      subject ??
      (typeof event === 'object' && !(event instanceof Uint8Array)
        ? event.type
        : 'sh.keptn.event.deliver.triggered');
    this.nc.publish(
      s,
      typeof event === 'string' || event instanceof Uint8Array ? event : encodeKeptnEvent(event),
    );
    await this.nc.flush();
  }

  /** The answers (started/finished) the control plane saw for a trigger, in arrival order. */
  answers(triggerId: string): KeptnEvent[] {
    return this.sim.events({ triggeredid: triggerId });
  }

  kinds(triggerId: string): string[] {
    return this.answers(triggerId).map((e) => e.type.split('.').pop()!);
  }

  async dispose(): Promise<void> {
    for (const i of this.integrations) await i.stop({ deadlineMs: 500 }).catch(() => {});
    if (!this.nc.isClosed()) await this.nc.close();
    await this.sim.stop();
    await this.nats.dispose();
  }
}

/** A handler whose deliveries the test releases by hand. */
export class Gate {
  private waiters: (() => void)[] = [];
  entered = 0;
  async wait(): Promise<void> {
    this.entered++;
    await new Promise<void>((r) => this.waiters.push(r));
  }
  releaseAll(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
