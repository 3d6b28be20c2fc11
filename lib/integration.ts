import { Registry } from 'prom-client';
import { HealthServer } from './health/health-server.js';
import { createSdkMetrics, type SdkMetrics } from './health/sdk-metrics.js';
import type { BackoffOptions } from './http/backoff.js';
import { JsonClient, type TokenSource } from './http/json-client.js';
import type { KeptnEvent } from './events/types.js';
import type { Logger } from './log.js';
import { EventLoop } from './loop/event-loop.js';
import type { TaskHandler } from './loop/task-handler.js';
import { controlPlaneBase, HttpTransport } from './transport/http-transport.js';
import { JetStreamSource, type JetStreamMode } from './transport/jetstream-source.js';
import { NatsTransport } from './transport/nats-transport.js';
import { OpenTriggerCatchUp } from './transport/open-triggers.js';
import type { EventSink, EventSource } from './transport/transport.js';
import type { Subscription } from './uniform/subscription.js';
import { UniformClient } from './uniform/uniform-client.js';
import { UniformRegistration, type RegistrationMetadata } from './uniform/uniform-registration.js';

/** An outgoing event queued longer than this makes the integration not ready. */
export const OUTBOX_STALL_LIMIT_MS = 30_000;

/** In-cluster: NATS plus shipyard-controller. */
export interface NatsMode {
  kind: 'nats';
  /** `EVENTBROKER`. */
  servers: string;
  /** `SHIPYARD_CONTROLLER`. */
  shipyardController: string;
  /** `NATS_JETSTREAM`; default auto. */
  jetstream?: JetStreamMode;
  reconnectTimeWaitMs?: number;
}

/** Remote execution plane: the Keptn API over HTTP. */
export interface HttpMode {
  kind: 'http';
  /** `KEPTN_API_ENDPOINT`. */
  apiEndpoint: string;
  token?: TokenSource;
  sslVerify?: boolean;
  pollIntervalMs?: number;
  /** Poll only while this is true (leader election among replicas); default always. */
  pollWhen?: () => boolean;
}

/** A caller-provided transport (the demo's in-process bus) with shipyard-controller for registration. */
export interface CustomMode {
  kind: 'custom';
  source: EventSource;
  sink: EventSink;
  /** Base URL of the uniform registration API. */
  controlPlane: string;
}

export interface KeptnIntegrationOptions {
  /** `INTEGRATION_NAME`: registration name, queue group, event source. */
  name: string;
  mode: NatsMode | HttpMode | CustomMode;
  metadata: RegistrationMetadata;
  /** For the first registration; afterwards the control plane owns them. */
  subscriptions: Subscription[];
  logger: Logger;
  /** Shared with the service's metrics; default a new one. */
  registry?: Registry;
  /** `HEALTH_ENDPOINT_PORT`; undefined: no health server. */
  healthPort?: number;
  healthHost?: string;
  pingIntervalMs?: number;
  registrationRetry?: BackoffOptions;
  concurrency?: number;
  abortGraceMs?: number;
  /**
   * How long an answer may wait to be published before the integration is not ready; default
   * OUTBOX_STALL_LIMIT_MS.
   */
  outboxStallLimitMs?: number;
}

/**
 * The whole SDK wired for one mode: transport, uniform registration, event loop and health. The
 * service registers handlers with `handle()` before `start()`.
 */
export class KeptnIntegration {
  readonly registry: Registry;
  readonly metrics: SdkMetrics;
  private readonly handlers: [string, TaskHandler | TaskHandler['handle']][] = [];
  private loop?: EventLoop;
  private source?: EventSource;
  private sink?: EventSink;
  private registration?: UniformRegistration;
  private uniform?: UniformClient;
  private health?: HealthServer;
  private nats?: NatsTransport;
  private openTriggersClient?: JsonClient;
  private readonly lifetime = new AbortController();
  private connectError?: string;

  constructor(private readonly options: KeptnIntegrationOptions) {
    this.registry = options.registry ?? new Registry();
    this.metrics = createSdkMetrics(this.registry);
  }

  handle(task: string, handler: TaskHandler | TaskHandler['handle']): this {
    this.handlers.push([task, handler]);
    this.loop?.handle(task, handler);
    return this;
  }

  /** The running loop (for `finishAdopted`); undefined before `start()`. */
  get eventLoop(): EventLoop | undefined {
    return this.loop;
  }

  get healthPort(): number | undefined {
    return this.health?.port;
  }

  get integrationId(): string | undefined {
    return this.registration?.id;
  }

  isRegistered(): boolean {
    return this.registration?.registered ?? false;
  }

  /** Registered, subscribed, and no answer waiting to be published for longer than the outbox stall limit. */
  isReady(): boolean {
    return (
      this.isRegistered() &&
      (this.registration?.hasSubscriptions ?? false) &&
      (this.source?.isSubscribed() ?? false) &&
      this.stalledForMs() === undefined
    );
  }

  /** How long the oldest unpublished answer has waited, when that is over the stall limit. */
  private stalledForMs(): number | undefined {
    const waited = this.sink?.stalledForMs?.() ?? 0;
    return waited > (this.options.outboxStallLimitMs ?? OUTBOX_STALL_LIMIT_MS) ? waited : undefined;
  }

  /** What keeps the integration from being registered and ready, for an operator (`/health`, `/ready`). */
  waitingFor(): string[] {
    const { mode } = this.options;
    const where =
      mode.kind === 'nats'
        ? `NATS at ${mode.servers}`
        : mode.kind === 'http'
          ? `the Keptn API at ${mode.apiEndpoint}`
          : 'the event bus';
    if (!this.source)
      return [`a connection to ${where}${this.connectError ? ` (last attempt: ${this.connectError})` : ''}`];
    const registration = this.registration;
    const lastError = registration?.lastError ? ` (last attempt: ${registration.lastError})` : '';
    if (!registration?.registered)
      return [
        `the uniform registration with the Keptn control plane at ${this.controlPlaneUrl()}${lastError}`,
      ];
    if (!registration.hasSubscriptions)
      return [`the first ping answer of the control plane (the subscriptions)${lastError}`];
    const stalled = this.stalledForMs();
    if (stalled !== undefined)
      return [
        `the event broker to accept the answers queued to it (the oldest has waited ${Math.round(stalled / 1000)} s)`,
      ];
    if (this.source.isSubscribed()) return [];
    if (registration.subscribedToNothing) {
      return [
        'a subscription: the control plane lists none for this integration (a targets file without rules subscribes to nothing; edit subscriptions in the Bridge)',
      ];
    }
    return [`a subscription on ${where} (${this.source.kind}): disconnected or not yet subscribed`];
  }

  /** Starts health, connects, registers (retrying), subscribes; resolves after the first ping. */
  async start(signal?: AbortSignal): Promise<void> {
    const o = this.options;
    if (o.healthPort !== undefined) {
      this.health = new HealthServer({
        port: o.healthPort,
        host: o.healthHost,
        registry: this.registry,
        isRegistered: () => this.isRegistered(),
        isReady: () => this.isReady(),
        waitingFor: () => this.waitingFor(),
      });
      await this.health.start();
    }
    await this.connect(signal);
    const baseUrl = this.controlPlaneUrl();
    const token = o.mode.kind === 'http' ? o.mode.token : undefined;
    this.uniform = new UniformClient({
      baseUrl,
      token,
      sslVerify: o.mode.kind === 'http' ? o.mode.sslVerify : true,
    });
    const loop = new EventLoop({
      name: o.name,
      source: this.source!,
      sink: this.sink!,
      logger: o.logger,
      metrics: this.metrics,
      concurrency: o.concurrency,
      abortGraceMs: o.abortGraceMs,
      errorLog: this.uniform,
      integrationId: () => this.registration?.id,
    });
    for (const [task, handler] of this.handlers) loop.handle(task, handler);
    this.loop = loop;
    await loop.start();
    this.registration = new UniformRegistration({
      client: this.uniform,
      name: o.name,
      metadata: o.metadata,
      subscriptions: o.subscriptions,
      logger: o.logger,
      pingIntervalMs: o.pingIntervalMs,
      retry: o.registrationRetry,
      onSubscriptions: (subs) => loop.setSubscriptions(subs),
    });
    await this.registration.start();
    if (o.mode.kind === 'nats') this.catchUpOpenTriggers(o.mode.shipyardController, loop);
  }

  /**
   * NATS mode: at start-up and after every reconnect, the open triggers the control plane holds
   * are offered to the loop, so none published while no subscription was live is lost (core NATS
   * drops them; a new JetStream consumer starts after them).
   */
  private catchUpOpenTriggers(shipyardController: string, loop: EventLoop): void {
    const client = new JsonClient({ sslVerify: true });
    this.openTriggersClient = client;
    const catchUp = new OpenTriggerCatchUp({
      client,
      base: `${shipyardController.replace(/\/+$/, '')}/v1/event/triggered`,
      logger: this.options.logger,
      subscriptions: () => loop.subscribed,
      offer: (event, subject, subscriptionId) => loop.offer(event, subject, subscriptionId),
    });
    void catchUp.run('start-up', this.lifetime.signal);
    this.nats?.onReconnect(() => void catchUp.run('reconnect', this.lifetime.signal));
  }

  /**
   * Sends an event that answers no trigger (a sequence trigger started by a GitOps notification)
   * through the same transport as the loop's answers: NATS, or `POST /v1/event` in remote mode.
   */
  async publish(event: KeptnEvent): Promise<void> {
    if (!this.sink) throw new Error('the integration is not started');
    await this.sink.publish(event);
  }

  /** Stops intake and pings, lets handlers finish (up to `deadlineMs`), drains the transport. */
  async stop(options: { deadlineMs?: number } = {}): Promise<void> {
    this.lifetime.abort();
    this.openTriggersClient?.close();
    await this.registration?.stop();
    if (this.loop) await this.loop.stop(options);
    else await this.sink?.close(1000);
    this.uniform?.close();
    await this.health?.stop();
  }

  private controlPlaneUrl(): string {
    const { mode } = this.options;
    return mode.kind === 'nats'
      ? mode.shipyardController
      : mode.kind === 'custom'
        ? mode.controlPlane
        : controlPlaneBase(mode.apiEndpoint);
  }

  private async connect(signal?: AbortSignal): Promise<void> {
    const { mode, name, logger } = this.options;
    if (mode.kind === 'custom') {
      this.source = mode.source;
      this.sink = mode.sink;
      return;
    }
    if (mode.kind === 'http') {
      const http = new HttpTransport({
        apiEndpoint: mode.apiEndpoint,
        token: mode.token,
        sslVerify: mode.sslVerify,
        logger,
        pollIntervalMs: mode.pollIntervalMs,
        pollWhen: mode.pollWhen,
      });
      this.source = http;
      this.sink = http;
      return;
    }
    const nats = await NatsTransport.connect(
      {
        servers: mode.servers,
        name,
        logger,
        reconnectTimeWaitMs: mode.reconnectTimeWaitMs,
        onConnectFailure: (error) => (this.connectError = error),
      },
      signal,
    );
    this.sink = nats;
    this.nats = nats;
    const js = await JetStreamSource.create(mode.jetstream ?? 'auto', {
      connection: nats.connection,
      name,
      logger,
    });
    this.source = js ?? nats;
    logger.info('receiving task triggers', { via: this.source.kind });
  }
}
