import { createHmac } from 'node:crypto';
import { Registry } from 'prom-client';
import type { GitopsConfig } from '../../../service/config/gitops-config.js';
import { parseTargetsFile } from '../../../service/config/targets-loader.js';
import { createServiceMetrics, type ServiceMetrics } from '../../../service/metrics.js';
import { StaticFluxSourceLookup, type FluxSourceLookup } from '../../../service/webhooks/flux-sources.js';
import {
  NotificationHandler,
  type NotificationHandlerOptions,
} from '../../../service/webhooks/notification-handler.js';
import { MemorySeenRevisions, type SeenRevisionStore } from '../../../service/state/seen-revisions.js';
import type { SequenceTrigger } from '../../../service/webhooks/sequence-trigger.js';
import { createWebhookServer, type WebhookServer } from '../../../service/webhooks/webhook-server.js';
import { readFixture } from '../../support/paths.js';
import { RecordingLogger } from '../../support/recording-logger.js';
import type { DeliveryTool } from '../../../service/gitops/identity.js';

export const ARGO_TOKEN = 'argo-webhook-token-0123456789';
export const FLUX_HMAC_KEY = 'flux-hmac-key-abcdef';
export const FLUX_TOKEN = 'flux-bearer-token-xyz';

export const TEST_ENV = {
  ARGOCD_SERVER: 'argocd.example.com',
  ARGOCD_AUTH_TOKEN: 'argocd-api-token',
  ARGOCD_WEBHOOK_TOKEN: ARGO_TOKEN,
  FLUX_WEBHOOK_HMAC_KEY: FLUX_HMAC_KEY,
  FLUX_WEBHOOK_TOKEN: FLUX_TOKEN,
};

/** Targets: guestbook (Argo CD) and podinfo (Flux Kustomization + HelmRelease) with onChange. */
export const TARGETS_YAML = `
webhooks:
  argocdTokenEnv: ARGOCD_WEBHOOK_TOKEN
  fluxHmacKeyEnv: FLUX_WEBHOOK_HMAC_KEY
  fluxTokenEnv: FLUX_WEBHOOK_TOKEN
targets:
  - match: {project: demo, stage: dev, service: guestbook}
    argocd: {application: guestbook}
    onChange: {sequence: delivery}
  - match: {project: demo, stage: dev, service: podinfo}
    flux: {kind: Kustomization, name: podinfo, namespace: flux-system}
    onChange: {sequence: delivery}
  - match: {project: demo, stage: hardening, service: podinfo}
    flux: {kind: HelmRelease, name: podinfo, namespace: default}
    onChange: {sequence: artifact-delivery}
  - match: {project: demo}
    argocd: {application: "\${service}-\${stage}"}
`;

export function testConfig(yaml = TARGETS_YAML, env: Record<string, string> = TEST_ENV): GitopsConfig {
  return parseTargetsFile(yaml, 'targets.yaml', env);
}

/** The Kustomization and HelmRelease fixtures, as the source lookup sees them. */
export function fixtureSources(): FluxSourceLookup {
  const kustomization = readFixture<{
    kind: string;
    metadata: { name: string; namespace: string };
    spec: unknown;
  }>('gitops', 'flux-kustomization-with-status.json');
  const helmRelease = readFixture<{
    kind: string;
    metadata: { name: string; namespace: string };
    spec: unknown;
  }>('gitops', 'flux-helmrelease-with-status.json');
  return new StaticFluxSourceLookup({ objects: [kustomization, helmRelease] });
}

export interface HarnessOptions {
  config?: GitopsConfig;
  seen?: SeenRevisionStore;
  sources?: FluxSourceLookup;
  startSequence?: (trigger: SequenceTrigger) => Promise<void>;
  /** Default: 3 attempts a few ms apart. */
  retry?: NotificationHandlerOptions['retry'];
}

export class Harness {
  readonly registry = new Registry();
  readonly metrics: ServiceMetrics = createServiceMetrics(this.registry);
  readonly started: SequenceTrigger[] = [];
  readonly woken: { tool: DeliveryTool; target: string }[] = [];
  readonly following = new Set<string>();
  /** What the webhook server and the notification handler logged. */
  readonly log = new RecordingLogger();
  config: GitopsConfig;
  readonly handler: NotificationHandler;
  server!: WebhookServer;

  constructor(options: HarnessOptions = {}) {
    this.config = options.config ?? testConfig();
    this.handler = new NotificationHandler({
      logger: this.log,
      metrics: this.metrics,
      getConfig: () => this.config,
      seen: options.seen ?? new MemorySeenRevisions(),
      sources: options.sources ?? fixtureSources(),
      startSequence:
        options.startSequence ??
        (async (trigger) => {
          this.started.push(trigger);
        }),
      isFollowing: (tool, target) => this.following.has(`${tool} ${target}`),
      wakeFollower: (tool, target) => this.woken.push({ tool, target }),
      retry: options.retry ?? { attempts: 3, initialMs: 5, maxMs: 20 },
    });
  }

  static async start(options: HarnessOptions = {}): Promise<Harness> {
    const h = new Harness(options);
    h.server = await createWebhookServer({
      port: 0,
      host: '127.0.0.1',
      logger: h.log,
      metrics: h.metrics,
      getConfig: () => h.config,
      handler: h.handler,
    });
    return h;
  }

  async close(): Promise<void> {
    await this.server?.close();
    await this.handler.idle();
  }

  async postArgo(body: unknown, token = ARGO_TOKEN): Promise<Response> {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    return fetch(`${this.server.url}/webhooks/argocd`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: text,
    });
  }

  async postFlux(
    body: unknown,
    auth: { hmacKey?: string; token?: string } = { hmacKey: FLUX_HMAC_KEY },
  ): Promise<Response> {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'Gotk-Component': 'source-controller',
    };
    if (auth.hmacKey)
      headers['X-Signature'] = `sha256=${createHmac('sha256', auth.hmacKey).update(text).digest('hex')}`;
    if (auth.token) headers.Authorization = `Bearer ${auth.token}`;
    return fetch(`${this.server.url}/webhooks/flux`, { method: 'POST', headers, body: text });
  }

  /** Value of a counter for exactly these labels (0 when never incremented). */
  async count(name: string, labels: Record<string, string>): Promise<number> {
    const metric = this.registry.getSingleMetric(name);
    if (!metric) throw new Error(`no metric ${name}`);
    const { values } = await metric.get();
    const match = values.find((v) => Object.entries(labels).every(([k, val]) => String(v.labels[k]) === val));
    return match?.value ?? 0;
  }
}

export type ArgoApp = ReturnType<typeof argoApp>;

/** The fixture Application (guestbook, Synced at 6bed858…) with changes applied. */
export function argoApp(change: (app: any) => void = () => {}) {
  const app = readFixture<any>('gitops', 'argocd-application-get-response.json');
  change(app);
  return app;
}

/** The body our template renders: {"instance", "trigger", "app": {{toJson .app}}}. */
export function argoBody(app: unknown, trigger = 'on-out-of-sync', instance = 'default') {
  return { instance, trigger, app };
}

export const DEPLOYED_SHA = '6bed858de32a0e876ec49dad1a2e3c5840d3fb07';
export const NEW_SHA = '0d1e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a';

/** The fixture Application OutOfSync at `revision`. */
export function outOfSync(revision: string) {
  return argoApp((app) => {
    app.status.sync.status = 'OutOfSync';
    app.status.sync.revision = revision;
  });
}
