import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { E2eSandbox, type RunningService } from '../../support/e2e-harness.js';
import { repoRoot } from '../../support/paths.js';
import { freePort } from '../../support/ports.js';
import { ArgoCdApi } from './argocd-api.js';
import { application, WORKLOAD_NAMESPACE, type ApplicationSpec } from './argocd-objects.js';
import { RealArgoCd } from './argocd.js';
import type { InstalledChart } from './chart.js';
import type { RealCluster } from './cluster.js';
import { FLUX_NAMESPACE } from './flux.js';
import { GitServer, type GitWorkingCopy } from './git-server.js';
import { sharedChart, sharedCluster } from './shared-cluster.js';
import { StallingProxy } from './stalling-proxy.js';

/** Local accounts as an operator declares them in argocd-cm, with the RBAC the README gives them. */
export const API_ACCOUNT = 'keptn';
export const LOGIN_ACCOUNT = 'keptn-login';
const RBAC = [API_ACCOUNT, LOGIN_ACCOUNT]
  .flatMap((account) => [
    `p, ${account}, applications, get, default/*, allow`,
    `p, ${account}, applications, sync, default/*, allow`,
    `p, ${account}, applications, action/*, default/*, deny`,
  ])
  .join('\n');

/**
 * The Argo CD scenarios' world: a real Argo CD on the run's real cluster, a Git repository on the
 * loopback Git server it deploys from, and the e2e sandbox's Keptn side (a real nats-server, the
 * control-plane simulator) with the service as shipped: `serve`, environment only, the chart's
 * ServiceAccount token. The default instance reaches argocd-server through a proxy that can stall
 * watch streams.
 */
export class ArgoCdTier {
  argocd!: RealArgoCd;
  sandbox!: E2eSandbox;
  repo!: GitWorkingCopy;
  proxy!: StallingProxy;
  /** The apiKey token of API_ACCOUNT, made through the API (`argocd account generate-token`). */
  apiToken = '';
  readonly loginPassword = `login-${randomBytes(12).toString('hex')}`;
  readonly webhookToken = `webhook-${randomBytes(12).toString('hex')}`;
  /** The service's webhook port, fixed across restarts: the notifications service names it. */
  webhookPort = 0;
  private git!: GitServer;
  private serviceEnv: Record<string, string> = {};

  private constructor(
    readonly cluster: RealCluster,
    readonly chart: InstalledChart,
  ) {}

  static async start(): Promise<ArgoCdTier> {
    const cluster = await sharedCluster();
    // The run's chart grants its RBAC in flux-system, which Flux creates when its part runs first.
    await cluster.apply(
      JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: FLUX_NAMESPACE } }),
    );
    const tier = new ArgoCdTier(cluster, await sharedChart());
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
    this.argocd = await RealArgoCd.start(this.cluster, {
      argocdCm: { [`accounts.${API_ACCOUNT}`]: 'apiKey', [`accounts.${LOGIN_ACCOUNT}`]: 'login' },
      rbac: { 'policy.csv': RBAC },
    });
    await this.installNotifications();
    const admin = await this.argocd.admin();
    this.apiToken = await admin.createToken(API_ACCOUNT, `keptn-gitops-${randomUUID()}`);
    await admin.updatePassword(LOGIN_ACCOUNT, this.argocd.adminPassword, this.loginPassword);
    this.proxy = await new StallingProxy({
      host: '127.0.0.1',
      port: Number(new URL(this.argocd.serverUrl).port),
    }).start();
    await this.cluster.apply(
      JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: WORKLOAD_NAMESPACE } }),
    );
    this.git = new GitServer(join(this.argocd.dir, 'git'));
    await this.git.start(await freePort());
    this.repo = this.git.createRepository('shop');
    this.sandbox = await E2eSandbox.start({ kubeconfig: this.chart.kubeconfig });
  }

  /**
   * docs/argocd/argocd-notifications-cm.yaml as operators install it: merged into
   * argocd-notifications-cm with only the `url` adjusted (the service listens on loopback here),
   * and the token in argocd-notifications-secret.
   */
  private async installNotifications(): Promise<void> {
    const doc = parse(
      readFileSync(join(repoRoot, 'docs', 'argocd', 'argocd-notifications-cm.yaml'), 'utf8'),
    ) as { data: Record<string, string> };
    const service = parse(doc.data['service.webhook.keptn-gitops']!) as { url: string };
    const data = {
      ...doc.data,
      'service.webhook.keptn-gitops': stringify({
        ...service,
        url: `http://127.0.0.1:${this.webhookPort}/webhooks/argocd`,
      }),
    };
    await this.argocd.patchConfigMap('argocd-notifications-cm', data);
    await this.argocd.patchSecret('argocd-notifications-secret', {
      'keptn-gitops-webhook-token': this.webhookToken,
    });
  }

  get serverUrl(): string {
    return this.argocd.serverUrl;
  }

  admin(): Promise<ArgoCdApi> {
    return this.argocd.admin();
  }

  /** Creates or updates an Application of the default project deploying `path` of the repository. */
  async applyApplication(spec: Omit<ApplicationSpec, 'repoUrl'>): Promise<void> {
    await this.cluster.apply(JSON.stringify(application({ ...spec, repoUrl: this.repo.url })));
  }

  /** Writes the targets file and starts `keptn-gitops serve` with the environment an operator sets. */
  startService(targets: string, extra: Record<string, string> = {}): Promise<RunningService> {
    this.sandbox.writeTargets(targets);
    this.serviceEnv = {
      KUBECONFIG: this.chart.kubeconfig,
      K8S_NAMESPACE: 'keptn',
      ARGOCD_SERVER: this.proxy.url,
      ARGOCD_AUTH_TOKEN: this.apiToken,
      ARGOCD_LOGIN_USERNAME: LOGIN_ACCOUNT,
      ARGOCD_LOGIN_PASSWORD: this.loginPassword,
      ARGOCD_WEBHOOK_TOKEN: this.webhookToken,
      WEBHOOK_PORT: String(this.webhookPort),
      // One pod name across restarts: a restarted pod adopts its own records at once.
      K8S_POD_NAME: 'keptn-gitops-service-0',
      SHUTDOWN_TIMEOUT: '2',
      LOG_LEVEL: 'debug',
      ...extra,
    };
    return this.sandbox.startService(this.serviceEnv);
  }

  /** Stops the service with `signal` and starts it again with the same environment (a pod restart). */
  async restartService(running: RunningService, signal: NodeJS.Signals): Promise<RunningService> {
    await running.proc.stop(signal, 15_000);
    return this.sandbox.startService(this.serviceEnv);
  }

  async stop(): Promise<void> {
    await this.sandbox?.stop();
    await Promise.allSettled([this.proxy?.stop(), this.git?.stop()]);
    await this.argocd?.stop();
  }
}
