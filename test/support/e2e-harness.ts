import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  createTaskTriggeredEvent,
  encodeKeptnEvent,
  silentLogger,
  type KeptnEvent,
} from '../../lib/index.js';
import { KubeApi } from '../../service/kube/kube-api.js';
import { loadKubeConfig } from '../../service/kube/kube-config.js';
import { ArgoCdSimulator } from '../../service/sandbox/argocd/index.js';
import { ControlPlaneSimulator } from '../../service/sandbox/controlplane/control-plane-simulator.js';
import { FluxControllerSimulator } from '../../service/sandbox/flux/index.js';
import { seedWaitingKustomization } from '../../service/sandbox/flux/seed.js';
import { KubeApiSimulator } from '../../service/sandbox/kube/kube-api-simulator.js';
import { writeSandboxKubeconfig } from '../../service/sandbox/kube/kubeconfig.js';
import { baseEnv } from '../../service/sandbox/service-process.js';
import { ConfigMapDeliveryStore } from '../../service/state/configmap-delivery-store.js';
import type { DeliveryRecord } from '../../service/state/delivery-record.js';
import { eventually } from './eventually.js';
import { NatsServer } from './nats-server.js';
import { repoRoot } from './paths.js';
import { freePort } from './ports.js';
import { SERVICE_LOG_FILE, ServiceProcess } from './service-process.js';

export const E2E_ARGOCD_TOKEN = 'e2e-argocd-token-0f6b3c';
export const E2E_KEPTN_TOKEN = 'e2e-keptn-api-token-9d2a71';
export const E2E_ARGOCD_WEBHOOK_TOKEN = 'e2e-argocd-webhook-token-77f1';
export const E2E_FLUX_HMAC_KEY = 'e2e-flux-hmac-key-2c90';
/** The kubeconfig's bearer token: a credential like any other, so the secret scan looks for it. */
export const E2E_KUBE_TOKEN = 'e2e-kube-token-5d08f3a1c4b7';

export interface E2eSandboxOptions {
  /** Start a nats-server and let the control plane follow it (default true). */
  nats?: boolean;
  /** The Keptn API token the control plane's gateway paths require. */
  controlPlaneToken?: string;
  fluxDelayMs?: number;
  argoStepMs?: number;
  /** nats-server with JetStream and Keptn's `keptn` stream, as shipyard-controller creates it. */
  jetstream?: boolean;
  /**
   * A real API server (the real systems tier) instead of the simulated Kubernetes API and Flux controller.
   */
  kubeconfig?: string;
}

export interface RunningService {
  proc: ServiceProcess;
  healthPort: number;
  webhookPort: number;
}

export interface Answers {
  started: KeptnEvent[];
  finished: KeptnEvent[];
}

/**
 * One end-to-end sandbox: a real nats-server, the simulated Keptn control plane (following
 * `sh.keptn.>` as a tiny shipyard-controller, recording every event), a Kubernetes API with the Flux
 * controllers, Argo CD, a kubeconfig and a targets file; and the real service started from it as a
 * child process with environment variables only.
 */
export class E2eSandbox {
  nats?: NatsServer;
  readonly controlPlane = new ControlPlaneSimulator();
  readonly kube = new KubeApiSimulator();
  readonly argocd = new ArgoCdSimulator();
  flux!: FluxControllerSimulator;
  readonly dir = mkdtempSync(join(tmpdir(), 'keptn-gitops-e2e-'));
  readonly targetsFile = join(this.dir, 'config.yaml');
  kubeconfig = '';
  private nc?: NatsConnection;
  private readonly services: ServiceProcess[] = [];

  /** The suite's usual Flux target: Kustomization `flux-system/podinfo` (spec.wait) on its GitRepository. */
  seedPodinfo(): void {
    seedWaitingKustomization(this.kube, 'podinfo');
  }

  static async start(options: E2eSandboxOptions = {}): Promise<E2eSandbox> {
    const sandbox = new E2eSandbox();
    await sandbox.launch(options);
    return sandbox;
  }

  private async launch(options: E2eSandboxOptions): Promise<void> {
    if (options.nats !== false) {
      this.nats = await NatsServer.start({ jetstream: options.jetstream });
      this.nc = await connect({ servers: this.nats.url, name: 'e2e-shipyard-controller' });
    }
    await this.controlPlane.start({
      ...(this.nats ? { natsUrl: this.nats.url, jetstream: options.jetstream } : {}),
      ...(options.controlPlaneToken ? { token: options.controlPlaneToken } : {}),
    });
    await this.argocd.start({ tokens: [E2E_ARGOCD_TOKEN], stepMs: options.argoStepMs ?? 30 });
    if (options.kubeconfig) {
      this.kubeconfig = options.kubeconfig;
      return;
    }
    await this.kube.start();
    this.flux = new FluxControllerSimulator(this.kube, { delayMs: options.fluxDelayMs ?? 60 });
    this.kubeconfig = writeSandboxKubeconfig({
      server: this.kube.url,
      path: join(this.dir, 'kubeconfig'),
      namespace: 'keptn',
      token: E2E_KUBE_TOKEN,
    });
  }

  get natsUrl(): string {
    if (!this.nats) throw new Error('this sandbox has no NATS server');
    return this.nats.url;
  }

  /** Replaces the targets file atomically (a temporary file renamed over it, as a ConfigMap update does). */
  writeTargets(yaml: string, file = this.targetsFile): string {
    const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, yaml);
    renameSync(tmp, file);
    return file;
  }

  /** The environment an operator sets for this sandbox (NATS mode unless overridden). */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      ...(this.nats ? { EVENTBROKER: this.nats.url } : {}),
      SHIPYARD_CONTROLLER: this.controlPlane.url,
      GITOPS_CONFIG: this.targetsFile,
      KUBECONFIG: this.kubeconfig,
      ARGOCD_SERVER: this.argocd.url,
      ARGOCD_AUTH_TOKEN: E2E_ARGOCD_TOKEN,
      K8S_NAMESPACE: 'keptn',
      LOG_LEVEL: 'info',
      ...extra,
    };
  }

  /** `node dist/service/cli/main.js serve` with this sandbox's environment; resolves once /ready is 200. */
  async startService(
    extra: Record<string, string> = {},
    options: { bin?: string } = {},
  ): Promise<RunningService> {
    const [healthPort, webhookPort] = [await freePort(), await freePort()];
    const proc = new ServiceProcess({
      env: this.env({
        HEALTH_ENDPOINT_PORT: String(healthPort),
        WEBHOOK_PORT: String(webhookPort),
        ...extra,
      }),
      bin: options.bin,
    });
    this.services.push(proc);
    await proc.ready(healthPort, 20_000);
    return { proc, healthPort, webhookPort };
  }

  /**
   * A task trigger as shipyard-controller publishes it (contract 6.2): no triggeredid, gitcommitid set,
   * datacontenttype.
   */
  taskTrigger(
    scope: { project?: string; stage?: string; service?: string },
    data: Record<string, unknown> = {},
    task = 'deliver',
  ): KeptnEvent {
    const event = createTaskTriggeredEvent({
      task,
      source: 'shipyard-controller',
      shkeptncontext: randomUUID(),
      gitcommitid: randomBytes(20).toString('hex'),
      data: { ...scope, labels: { buildId: 'e2e-42' }, ...data },
    });
    delete event.contenttype;
    return event;
  }

  /** Publishes the events back to back, then waits until the server has them all. */
  async publish(...events: KeptnEvent[]): Promise<void> {
    if (!this.nc) throw new Error('this sandbox has no NATS server');
    for (const event of events) this.nc.publish(event.type, encodeKeptnEvent(event));
    await this.nc.flush();
  }

  /** The `.started` and `.finished` answers to one trigger, as the control plane recorded them. */
  answers(trigger: KeptnEvent): Answers {
    const task = trigger.type.split('.')[3];
    return {
      started: this.controlPlane.events({ type: `sh.keptn.event.${task}.started`, triggeredid: trigger.id }),
      finished: this.controlPlane.events({
        type: `sh.keptn.event.${task}.finished`,
        triggeredid: trigger.id,
      }),
    };
  }

  /** Waits for the trigger's `.finished` and returns it. */
  async finished(trigger: KeptnEvent, timeoutMs = 15_000): Promise<KeptnEvent> {
    return eventually(
      () => {
        const [finished] = this.answers(trigger).finished;
        if (!finished) throw new Error(`no .finished for ${trigger.data.service} (${trigger.id}) yet`);
        return finished;
      },
      timeoutMs,
      20,
    );
  }

  /** Publishes a trigger and waits for its `.finished`. */
  async deliver(trigger: KeptnEvent, timeoutMs = 15_000): Promise<KeptnEvent> {
    await this.publish(trigger);
    return this.finished(trigger, timeoutMs);
  }

  /**
   * Writes the delivery record of a Flux trigger as the replica `owner` does before it patches the object
   * (`null`: one that matched no target).
   */
  async saveDeliveryRecord(
    trigger: KeptnEvent,
    owner: string,
    target: string | null = 'Kustomization/flux-system/podinfo',
  ): Promise<void> {
    const { project = '', stage = '', service = '' } = trigger.data;
    const record: DeliveryRecord = {
      project,
      stage,
      service,
      type: trigger.type,
      shkeptncontext: trigger.shkeptncontext!,
      triggeredid: trigger.id,
      labels: {},
      startedAt: new Date().toISOString(),
      deadline: Date.now() + 60_000,
      ...(target === null ? {} : { target, tool: 'flux' as const }),
      owner,
      phase: 'started',
    };
    await this.withDeliveryStore((store) => store.create(record));
  }

  /** The service's delivery records in the cluster. */
  deliveryRecords(): Promise<DeliveryRecord[]> {
    return this.withDeliveryStore((store) => store.list());
  }

  private async withDeliveryStore<T>(use: (store: ConfigMapDeliveryStore) => Promise<T>): Promise<T> {
    const kube = new KubeApi(loadKubeConfig(this.kubeconfig));
    try {
      return await use(
        new ConfigMapDeliveryStore({
          kube,
          namespace: 'keptn',
          integrationName: 'gitops-service',
          logger: silentLogger,
        }),
      );
    } finally {
      await kube.close();
    }
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.services.map((s) => s.stop()));
    this.flux?.stop();
    if (this.nc && !this.nc.isClosed()) await this.nc.close();
    await Promise.allSettled([this.controlPlane.stop(), this.kube.stop(), this.argocd.stop()]);
    await this.nats?.dispose();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `node dist/service/cli/main.js <args>` with these environment variables only; its output goes to the secret
 * scan too.
 */
export function runCli(args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<CliResult> {
  const bin = join(repoRoot, 'dist', 'service', 'cli', 'main.js');
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...baseEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `keptn-gitops ${args.join(' ')} did not exit within ${timeoutMs} ms:\n${stdout}\n${stderr}`,
        ),
      );
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      appendFileSync(SERVICE_LOG_FILE, stdout + stderr);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Reads the Prometheus text of a running service. */
export async function metricsText(service: RunningService): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${service.healthPort}/metrics`);
  return res.text();
}

/** The value of one sample (name and exact label set text), or 0 when absent. */
export function metricValue(text: string, sample: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}
