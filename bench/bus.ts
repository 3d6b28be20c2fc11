import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { createTaskTriggeredEvent, encodeKeptnEvent } from '../lib/index.js';
import { msBetween } from './stats.js';

const TASK = 'deliver';
const FLOOR_SUBJECT = 'bench.floor';

/** What the bench saw of one task trigger, as `process.hrtime.bigint()` readings. */
export interface Delivery {
  id: string;
  service: string;
  publishedAt: bigint;
  startedAt?: bigint;
  finishedAt?: bigint;
  status?: string;
  result?: string;
  message?: string;
  onFinished: Set<() => void>;
}

/**
 * The bench's side of the Keptn bus: publishes `deliver.triggered` like Keptn's shipyard-controller
 * and stamps each `.started` and `.finished` on receipt with hrtime. Also answers and times a bare
 * request/reply on the same server (the floor), through a second connection.
 */
export class BenchBus {
  readonly deliveries = new Map<string, Delivery>();
  /** Answers that named a triggeredid this bench never published. */
  unknownAnswers = 0;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly responder: NatsConnection,
  ) {}

  static async connect(servers: string): Promise<BenchBus> {
    const nc = await connect({ servers, name: 'bench-client', timeout: 5000 });
    const responder = await connect({ servers, name: 'bench-floor-responder', timeout: 5000 });
    const bus = new BenchBus(nc, responder);
    // Callback subscriptions: the receipt time is taken before any parsing or queueing.
    nc.subscribe(`sh.keptn.event.${TASK}.started`, { callback: (_err, msg) => bus.onAnswer(msg, 'started') });
    nc.subscribe(`sh.keptn.event.${TASK}.finished`, {
      callback: (_err, msg) => bus.onAnswer(msg, 'finished'),
    });
    responder.subscribe(FLOOR_SUBJECT, { callback: (_err, msg) => void msg.respond(msg.data) });
    await Promise.all([nc.flush(), responder.flush()]);
    return bus;
  }

  /** Publishes one task trigger for project `bench`; returns its record. */
  trigger(stage: string, service: string): Delivery {
    const event = createTaskTriggeredEvent({
      task: TASK,
      source: 'shipyard-controller',
      data: { project: 'bench', stage, service },
    });
    const bytes = encodeKeptnEvent(event);
    const delivery: Delivery = {
      id: event.id,
      service,
      publishedAt: process.hrtime.bigint(),
      onFinished: new Set(),
    };
    this.deliveries.set(event.id, delivery);
    this.nc.publish(event.type, bytes);
    return delivery;
  }

  /** One bare NATS request/reply round trip with a trigger-sized payload, in milliseconds. */
  async floorRoundTrip(payload: Uint8Array): Promise<number> {
    const t0 = process.hrtime.bigint();
    await this.nc.request(FLOOR_SUBJECT, payload, { timeout: 5000 });
    return msBetween(t0, process.hrtime.bigint());
  }

  /** A payload as large as a trigger, for the floor. */
  samplePayload(): Uint8Array {
    return encodeKeptnEvent(
      createTaskTriggeredEvent({
        task: TASK,
        source: 'shipyard-controller',
        data: { project: 'bench', stage: 'bench-lat', service: 'lat-00' },
      }),
    );
  }

  flush(): Promise<void> {
    return this.nc.flush();
  }

  /** Resolves when the `.finished` of `delivery` is received; rejects after `timeoutMs`. */
  finished(delivery: Delivery, timeoutMs: number): Promise<Delivery> {
    if (delivery.finishedAt !== undefined) return Promise.resolve(delivery);
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        resolve(delivery);
      };
      const timer = setTimeout(() => {
        delivery.onFinished.delete(done);
        reject(new Error(`no .finished for ${delivery.service} (${delivery.id}) within ${timeoutMs} ms`));
      }, timeoutMs);
      delivery.onFinished.add(done);
    });
  }

  /** Waits (bounded) until every delivery in `list` is finished; returns how many are not. */
  async allFinished(list: readonly Delivery[], timeoutMs: number): Promise<number> {
    const results = await Promise.allSettled(list.map((d) => this.finished(d, timeoutMs)));
    return results.filter((r) => r.status === 'rejected').length;
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.nc.drain(), this.responder.drain()]);
  }

  private onAnswer(msg: Msg, kind: 'started' | 'finished'): void {
    const at = process.hrtime.bigint();
    const event = msg.json<{
      triggeredid?: string;
      data?: { status?: string; result?: string; message?: string };
    }>();
    const delivery = event.triggeredid ? this.deliveries.get(event.triggeredid) : undefined;
    if (!delivery) {
      this.unknownAnswers++;
      return;
    }
    if (kind === 'started') {
      delivery.startedAt ??= at;
      return;
    }
    if (delivery.finishedAt !== undefined) return;
    delivery.finishedAt = at;
    delivery.status = event.data?.status;
    delivery.result = event.data?.result;
    delivery.message = event.data?.message;
    for (const wake of delivery.onFinished) wake();
    delivery.onFinished.clear();
  }
}
