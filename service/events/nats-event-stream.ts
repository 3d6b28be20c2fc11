import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { encodeKeptnEvent, parseKeptnEvent, type KeptnEvent } from '../../lib/index.js';

/**
 * A plain NATS client for the CLI (trigger, demo): publish Keptn events and read every event on a
 * subject. Not the integration's event loop: no queue group, no answers.
 */
export class NatsEventStream {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly sub: Subscription,
  ) {}

  static async connect(options: {
    servers: string;
    subject: string;
    timeoutMs?: number;
  }): Promise<NatsEventStream> {
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: options.servers,
        timeout: options.timeoutMs ?? 5000,
        name: 'keptn-gitops-cli',
      });
    } catch (err) {
      throw new Error(`cannot connect to NATS at ${options.servers}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return new NatsEventStream(nc, nc.subscribe(options.subject));
  }

  async publish(event: KeptnEvent): Promise<void> {
    this.nc.publish(event.type, encodeKeptnEvent(event));
    await this.nc.flush();
  }

  /** Every valid Keptn event on the subject, in arrival order; malformed messages are skipped. */
  async *events(): AsyncGenerator<KeptnEvent> {
    for await (const msg of this.sub) {
      const parsed = parseKeptnEvent(msg.data);
      if (parsed.ok) yield parsed.event;
    }
  }

  async close(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.drain();
  }
}
