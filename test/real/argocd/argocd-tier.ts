import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { parse, stringify } from 'yaml';
import { createTaskTriggeredEvent, encodeKeptnEvent, silentLogger, type KeptnEvent } from '../../../lib/index.js';
import { KubeApi } from '../../../service/kube/kube-api.js';
import { loadKubeConfig } from '../../../service/kube/kube-config.js';
import { ConfigMapDeliveryStore } from '../../../service/state/configmap-delivery-store.js';
import type { OwnedDelivery } from '../../../service/state/owned-delivery.js';
import { ControlPlaneSimulator } from '../../../service/sandbox/controlplane/control-plane-simulator.js';
import { eventually } from '../../support/eventually.js';
import { NatsServer } from '../../support/nats-server.js';
import { repoRoot } from '../../support/paths.js';
import { freePort } from '../../support/ports.js';
import { ServiceProcess } from '../../support/service-process.js';
import { WORKLOAD_NAMESPACE, application, node, type ApplicationSpec } from './app-manifests.js';
import { ArgoCdApi } from './argocd-api.js';
import { GitRepo } from './git-repo.js';
import { apply } from './manifests.js';
import { ARGOCD_NAMESPACE, RealArgoCd } from './real-argocd.js';
import { StallingProxy } from './stalling-proxy.js';

/** What the Argo CD part needs of the real cluster. */
export interface ClusterAccess {
  /** system:masters: Argo CD's own kubeconfig and the harness's. */
  adminKubeconfig: string;
  /** The service's: the token of the ServiceAccount the chart's RBAC grants. */
  serviceKubeconfig: string;
  /** The service's namespace (its delivery records). */
  serviceNamespace: string;
}

/** Local accounts as an operator sets them up in argocd-cm, and their RBAC as the README says. */
export const API_ACCOUNT = 'keptn';
export const LOGIN_ACCOUNT = 'keptn-login';
export const WEBHOOK_TOKEN = `argocd-webhook-${randomBytes(12).toString('hex')}`;
const RBAC = [API_ACCOUNT, LOGIN_ACCOUNT]
  .flatMap((account) => [`p, ${account}, applications, get, default/*, allow`, `p, ${account}, applications, sync, default/*, allow`, `p, ${account}, applications, action/*, default/*, deny`])
  .join('\n');

export interface RunningService {
  proc: ServiceProcess;
  healthPort: number;
}

/**
 * The Argo CD scenarios' world: a real Argo CD on the real cluster, a Git repository it deploys
 * from, Keptn's side as the suite's control-plane simulator over a real nats-server, and the
 * service as shipped (`serve`, environment only, the chart's ServiceAccount token).
 */
export class ArgoCdTier {
  readonly dir = mkdtempSync(join(tmpdir(), 'keptn-gitops-real-argocd-'));
  readonly controlPlane = new ControlPlaneSimulator();
  argocd!: RealArgoCd;
  git!: GitRepo;
  nats!: NatsServer;
  /** Between the service's default instance and argocd-server: can stall watch streams. */
  proxy!: StallingProxy;
  /** The apiKey token of API_ACCOUNT, made through the API (`argocd account generate-token`). */
  apiToken = '';
  loginPassword = `login-${randomBytes(12).toString('hex')}`;
  webhookPort = 0;
  private nc?: NatsConnection;
  private serviceEnv: Record<string, string> = {};
  private readonly services: ServiceProcess[] = [];

  private constructor(readonly cluster: ClusterAccess) {}

  static async start(cluster: ClusterAccess): Promise<ArgoCdTier> {
    const tier = new ArgoCdTier(cluster);
    try {
      await tier.launch();
    } catch (err) {
      await tier.stop();
      throw err;
    }
    return tier;
  }

  private async launch(): Promise<void> {
    this.webhookPort = await freePort();
    this.argocd = await RealArgoCd.start({
      kubeconfig: this.cluster.adminKubeconfig,
      workDir: join(this.dir, 'argocd'),
      argocdCm: { [`accounts.${API_ACCOUNT}`]: 'apiKey', [`accounts.${LOGIN_ACCOUNT}`]: 'login', 'timeout.reconciliation': '10s' },
      rbac: { 'policy.csv': RBAC },
    });
    await this.installNotifications();
    this.proxy = await new StallingProxy({ host: '127.0.0.1', port: Number(new URL(this.argocd.serverUrl).port) }).start();
    const admin = await this.argocd.admin();
    this.apiToken = await admin.createToken(API_ACCOUNT, `keptn-gitops-${randomUUID()}`);
    await admin.updatePassword(LOGIN_ACCOUNT, this.argocd.adminPassword, this.loginPassword);
    await apply(this.argocd.kube, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: WORKLOAD_NAMESPACE } });
    this.git = await GitRepo.create(join(this.dir, 'git'), 'shop');
    this.nats = await NatsServer.start();
    this.nc = await connect({ servers: this.nats.url, name: 'real-argocd-shipyard' });
    await this.controlPlane.start({ natsUrl: this.nats.url });
  }

  /**
   * docs/argocd/argocd-notifications-cm.yaml as operators install it: merged into
   * argocd-notifications-cm with only the `url` adjusted (the service listens on loopback here),
   * and the token in argocd-notifications-secret.
   */
  private async installNotifications(): Promise<void> {
    const doc = parse(readFileSync(join(repoRoot, 'docs', 'argocd', 'argocd-notifications-cm.yaml'), 'utf8')) as { data: Record<string, string> };
    const data = { ...doc.data };
    const service = parse(data['service.webhook.keptn-gitops']!) as { url: string };
    data['service.webhook.keptn-gitops'] = stringify({ ...service, url: `http://127.0.0.1:${this.webhookPort}/webhooks/argocd` });
    await this.argocd.patchConfigMap('argocd-notifications-cm', data);
    await this.argocd.patchSecret('argocd-notifications-secret', { 'keptn-gitops-webhook-token': WEBHOOK_TOKEN });
  }

  get serverUrl(): string {
    return this.argocd.serverUrl;
  }

  async addApplication(spec: Omit<ApplicationSpec, 'repoUrl'>): Promise<void> {
    await apply(this.argocd.kube, application({ ...spec, repoUrl: this.git.fileUrl }), ARGOCD_NAMESPACE);
  }

  /** A node kwok runs: Pods waiting for it get scheduled and become Ready. */
  async addNode(name: string): Promise<void> {
    await apply(this.argocd.kube, node(name));
  }

  admin(): Promise<ArgoCdApi> {
    return this.argocd.admin();
  }

  /** Writes the targets file and starts `keptn-gitops serve` with the environment an operator sets. */
  async startService(targets: string, extra: Record<string, string> = {}): Promise<RunningService> {
    const targetsFile = join(this.dir, 'targets.yaml');
    writeFileSync(targetsFile, targets);
    this.serviceEnv = {
        EVENTBROKER: this.nats.url,
        SHIPYARD_CONTROLLER: this.controlPlane.url,
        GITOPS_CONFIG: targetsFile,
        KUBECONFIG: this.cluster.serviceKubeconfig,
        K8S_NAMESPACE: this.cluster.serviceNamespace,
        ARGOCD_SERVER: this.proxy.url,
        ARGOCD_AUTH_TOKEN: this.apiToken,
        ARGOCD_LOGIN_USERNAME: LOGIN_ACCOUNT,
        ARGOCD_LOGIN_PASSWORD: this.loginPassword,
        ARGOCD_WEBHOOK_TOKEN: WEBHOOK_TOKEN,
        WEBHOOK_PORT: String(this.webhookPort),
        // One pod name across restarts: a restarted pod adopts its own records at once.
        K8S_POD_NAME: 'keptn-gitops-service-0',
        SHUTDOWN_TIMEOUT: '2',
        LOG_LEVEL: 'debug',
        ...extra,
    };
    return this.launchService();
  }

  /** Stops the service with `signal` and starts it again with the same environment (a pod restart). */
  async restartService(running: RunningService, signal: NodeJS.Signals): Promise<RunningService> {
    await running.proc.stop(signal, 15_000);
    return this.launchService();
  }

  private async launchService(): Promise<RunningService> {
    const healthPort = await freePort();
    const proc = new ServiceProcess({ env: { ...this.serviceEnv, HEALTH_ENDPOINT_PORT: String(healthPort) } });
    this.services.push(proc);
    await proc.ready(healthPort, 30_000);
    return { proc, healthPort };
  }

  /** The service's delivery records on the real API server (read with the admin's credentials). */
  async deliveryRecords(): Promise<OwnedDelivery[]> {
    const kube = new KubeApi(loadKubeConfig(this.cluster.adminKubeconfig));
    try {
      return await new ConfigMapDeliveryStore({ kube, namespace: this.cluster.serviceNamespace, integrationName: 'gitops-service', logger: silentLogger }).list();
    } finally {
      await kube.close();
    }
  }

  /** Everything every service process of this tier wrote. */
  serviceOutput(): string {
    return this.services.map((s) => s.output).join('\n');
  }

  /** A task trigger as shipyard-controller publishes it. */
  taskTrigger(scope: { project: string; stage: string; service: string }, data: Record<string, unknown> = {}): KeptnEvent {
    const event = createTaskTriggeredEvent({ task: 'deliver', source: 'shipyard-controller', shkeptncontext: randomUUID(), gitcommitid: randomBytes(20).toString('hex'), data: { ...scope, ...data } });
    delete event.contenttype;
    return event;
  }

  async publish(event: KeptnEvent): Promise<void> {
    this.nc!.publish(event.type, encodeKeptnEvent(event));
    await this.nc!.flush();
  }

  answers(trigger: KeptnEvent): { started: KeptnEvent[]; finished: KeptnEvent[] } {
    return {
      started: this.controlPlane.events({ type: 'sh.keptn.event.deliver.started', triggeredid: trigger.id }),
      finished: this.controlPlane.events({ type: 'sh.keptn.event.deliver.finished', triggeredid: trigger.id }),
    };
  }

  finished(trigger: KeptnEvent, timeoutMs: number): Promise<KeptnEvent> {
    return eventually(() => {
      const [finished] = this.answers(trigger).finished;
      if (!finished) throw new Error(`no .finished for ${trigger.data.service} (${trigger.id}) within ${timeoutMs} ms; Argo CD: ${this.argocd.crashed().join('\n') || 'running'}`);
      return finished;
    }, timeoutMs, 100);
  }

  async deliver(trigger: KeptnEvent, timeoutMs = 120_000): Promise<KeptnEvent> {
    await this.publish(trigger);
    return this.finished(trigger, timeoutMs);
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.services.map((s) => s.stop('SIGTERM', 10_000)));
    if (this.nc && !this.nc.isClosed()) await this.nc.close();
    await Promise.allSettled([this.controlPlane.stop(), this.proxy?.stop(), this.argocd?.stop()]);
    await this.nats?.dispose();
    if (!process.env.KEPTN_GITOPS_REAL_KEEP) rmSync(this.dir, { recursive: true, force: true });
  }
}
