import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { KubeApi } from '../../../service/kube/kube-api.js';
import { loadKubeConfig } from '../../../service/kube/kube-config.js';
import { freePort } from '../../../service/sandbox/free-port.js';
import { eventually } from '../../support/eventually.js';
import { ArgoCdApi } from './argocd-api.js';
import { ARGOCD_VERSION, argocdCacheDir } from './argocd-version.js';
import { LocalProcess } from './local-process.js';
import { apply, readManifests, refOf, type Manifest } from './manifests.js';
import { REDIS_ADDRESS, RedisDatabase } from './redis-db.js';

export const ARGOCD_NAMESPACE = 'argocd';

export interface RealArgoCdOptions {
  /** An admin kubeconfig of the cluster Argo CD runs in and deploys to (its in-cluster destination). */
  kubeconfig: string;
  /** Logs, repo-server checkouts, TLS/SSH/GPG data paths. */
  workDir: string;
  /** Keys merged into argocd-cm over upstream's defaults (accounts, session duration, ...). */
  argocdCm?: Record<string, string>;
  /** argocd-rbac-cm data. */
  rbac?: Record<string, string>;
}

/** The four components the tier runs, with the role each gets from ARGOCD_BINARY_NAME. */
const COMPONENTS = ['argocd-repo-server', 'argocd-server', 'argocd-application-controller', 'argocd-notifications'] as const;
type Component = (typeof COMPONENTS)[number];

/**
 * A real Argo CD as local processes, set up the way its own local development runs it (Procfile):
 * argocd-server (plain HTTP, `--insecure`, on 127.0.0.1), repo-server, application-controller and
 * the notifications controller, all with ARGOCD_FAKE_IN_CLUSTER so that the in-cluster destination
 * `https://kubernetes.default.svc` is the cluster of the kubeconfig; the machine's Redis, a database
 * of its own. CRDs and the ConfigMaps/Secrets come from the module's `manifests/`.
 */
export class RealArgoCd {
  readonly version = ARGOCD_VERSION;
  readonly kube: KubeApi;
  /** `http://127.0.0.1:<port>`, the REST API the service calls. */
  serverUrl = '';
  /** The admin's initial password, as `argocd admin initial-password` reads it. */
  adminPassword = '';
  private readonly processes = new Map<Component, LocalProcess>();
  private redisDb?: RedisDatabase;
  private readonly ports = { server: 0, serverMetrics: 0, repo: 0, repoMetrics: 0, controllerMetrics: 0, notificationsMetrics: 0 };

  private constructor(private readonly options: RealArgoCdOptions) {
    this.kube = new KubeApi(loadKubeConfig(options.kubeconfig));
  }

  static async start(options: RealArgoCdOptions): Promise<RealArgoCd> {
    const argocd = new RealArgoCd(options);
    try {
      await argocd.launch();
    } catch (err) {
      await argocd.stop();
      throw err;
    }
    return argocd;
  }

  get binary(): string {
    return join(argocdCacheDir(), 'argocd');
  }

  /** The admin's API (session login). */
  admin(): Promise<ArgoCdApi> {
    return ArgoCdApi.login(this.serverUrl, 'admin', this.adminPassword);
  }

  private async launch(): Promise<void> {
    if (!existsSync(this.binary)) throw new Error(`Argo CD ${ARGOCD_VERSION} is not built: ${this.binary} is missing (tools/build.sh builds it)`);
    for (const dir of ['logs', 'tmp', 'home', 'tls', 'ssh', 'gpg/keys', 'gpg/source', 'plugins']) mkdirSync(join(this.options.workDir, dir), { recursive: true, mode: 0o700 });
    for (const key of Object.keys(this.ports) as (keyof typeof this.ports)[]) this.ports[key] = await freePort();
    this.serverUrl = `http://127.0.0.1:${this.ports.server}`;
    this.redisDb = await RedisDatabase.lease();
    await this.installResources();
    await this.startComponent('argocd-repo-server', `http://127.0.0.1:${this.ports.repoMetrics}/healthz`);
    await this.startComponent('argocd-server', `${this.serverUrl}/healthz`);
    await this.startComponent('argocd-application-controller', `http://127.0.0.1:${this.ports.controllerMetrics}/healthz`);
    await this.startComponent('argocd-notifications', `http://127.0.0.1:${this.ports.notificationsMetrics}/metrics`);
    this.adminPassword = await eventually(() => this.readSecret('argocd-initial-admin-secret', 'password'), 30_000, 200);
  }

  /** CRDs, the namespace, upstream's base ConfigMaps/Secrets with this tier's settings merged in. */
  private async installResources(): Promise<void> {
    const manifests = join(argocdCacheDir(), 'manifests');
    for (const file of readdirSync(join(manifests, 'crds')).filter((f) => f.endsWith('-crd.yaml'))) {
      for (const crd of readManifests(join(manifests, 'crds', file))) await apply(this.kube, crd);
    }
    await apply(this.kube, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ARGOCD_NAMESPACE } });
    await eventually(async () => (await this.kube.servedResources('argoproj.io', 'v1alpha1')).includes('applications'), 30_000, 200);
    const base: Manifest[] = [];
    for (const dir of ['config', 'notification']) {
      for (const file of readdirSync(join(manifests, dir))) base.push(...readManifests(join(manifests, dir, file)).filter((m) => m.kind === 'ConfigMap' || m.kind === 'Secret'));
    }
    const extra: Record<string, Record<string, string>> = {
      'argocd-cm': this.options.argocdCm ?? {},
      'argocd-rbac-cm': this.options.rbac ?? {},
    };
    for (const manifest of base) {
      const data = extra[manifest.metadata.name];
      if (data) manifest.data = { ...(manifest.data as Record<string, string> | undefined), ...data };
      await apply(this.kube, manifest, ARGOCD_NAMESPACE);
    }
  }

  /** Merges `data` into a ConfigMap of the Argo CD namespace (the components watch them). */
  async patchConfigMap(name: string, data: Record<string, string | null>): Promise<void> {
    await this.kube.patchMerge(refOf('ConfigMap'), ARGOCD_NAMESPACE, name, { data });
  }

  /** Merges `stringData` into a Secret of the Argo CD namespace. */
  async patchSecret(name: string, stringData: Record<string, string>): Promise<void> {
    await this.kube.patchMerge(refOf('Secret'), ARGOCD_NAMESPACE, name, { stringData });
  }

  async readSecret(name: string, key: string): Promise<string> {
    const secret = await this.kube.get<{ data?: Record<string, string> }>(refOf('Secret'), ARGOCD_NAMESPACE, name);
    const value = secret.data?.[key];
    if (!value) throw new Error(`Secret ${ARGOCD_NAMESPACE}/${name} has no ${key}`);
    return Buffer.from(value, 'base64').toString('utf8');
  }

  private args(component: Component): string[] {
    const redis = ['--redis', REDIS_ADDRESS, '--redisdb', String(this.redisDb!.db)];
    const repoServer = `127.0.0.1:${this.ports.repo}`;
    const kube = ['--kubeconfig', this.options.kubeconfig, '--namespace', ARGOCD_NAMESPACE];
    const log = ['--loglevel', 'info'];
    switch (component) {
      case 'argocd-repo-server':
        return [...log, ...redis, '--address', '127.0.0.1', '--port', String(this.ports.repo), '--metrics-address', '127.0.0.1', '--metrics-port', String(this.ports.repoMetrics)];
      case 'argocd-server':
        return [...log, ...redis, ...kube, '--insecure', '--address', '127.0.0.1', '--port', String(this.ports.server), '--metrics-port', String(this.ports.serverMetrics), '--repo-server', repoServer];
      case 'argocd-application-controller':
        return [...log, ...redis, ...kube, '--repo-server', repoServer, '--metrics-port', String(this.ports.controllerMetrics), '--status-processors', '4', '--operation-processors', '2'];
      case 'argocd-notifications':
        return [...log, ...kube, '--argocd-repo-server', repoServer, '--metrics-port', String(this.ports.notificationsMetrics)];
    }
  }

  private env(component: Component): Record<string, string> {
    const dir = (...parts: string[]) => join(this.options.workDir, ...parts);
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dir('home'),
      TMPDIR: dir('tmp'),
      KUBECONFIG: this.options.kubeconfig,
      ARGOCD_BINARY_NAME: component,
      ARGOCD_FAKE_IN_CLUSTER: 'true',
      ARGOCD_GPG_ENABLED: 'false',
      ARGOCD_TLS_DATA_PATH: dir('tls'),
      ARGOCD_SSH_DATA_PATH: dir('ssh'),
      ARGOCD_GNUPGHOME: dir('gpg', 'keys'),
      ARGOCD_GPG_DATA_PATH: dir('gpg', 'source'),
      ARGOCD_PLUGINSOCKFILEPATH: dir('plugins'),
      // timeout.reconciliation of argocd-cm, which the manifests hand to the controller and
      // repo-server as this variable: a new commit is seen within seconds, not minutes.
      ARGOCD_RECONCILIATION_TIMEOUT: '10s',
      ARGOCD_RECONCILIATION_JITTER: '0',
    };
  }

  private async startComponent(component: Component, healthUrl: string): Promise<void> {
    const proc = new LocalProcess({
      name: component,
      command: this.binary,
      args: this.args(component),
      env: this.env(component),
      logFile: join(this.options.workDir, 'logs', `${component}.log`),
      cwd: join(this.options.workDir, 'tmp'),
    });
    this.processes.set(component, proc);
    await eventually(
      async () => {
        proc.assertRunning();
        const res = await fetch(healthUrl);
        await res.body?.cancel();
        if (!res.ok) throw new Error(`${component}: ${healthUrl} answered ${res.status}`);
        return true;
      },
      60_000,
      200,
    );
  }

  /** Components that exited although nobody stopped them, with the end of their logs. */
  crashed(): string[] {
    return [...this.processes.values()].filter((p) => !p.running).map((p) => `${p.name} exited:\n${p.tail()}`);
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.processes.values()].reverse().map((p) => p.stop()));
    await this.redisDb?.release();
    await this.kube.close();
  }
}
