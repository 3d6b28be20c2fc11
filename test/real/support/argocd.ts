import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { eventually } from '../../support/eventually.js';
import { freePort } from '../../support/ports.js';
import { ArgoCdApi } from './argocd-api.js';
import { binaries, binary } from './binaries.js';
import { whileRunning, type RealCluster } from './cluster.js';
import type { RunningProcess } from './processes.js';
import { RedisDatabase, REDIS_ADDRESS } from './redis-db.js';

export const ARGOCD_NAMESPACE = 'argocd';

export interface RealArgoCdOptions {
  /** Keys merged into argocd-cm over upstream's defaults (accounts, ...). */
  argocdCm?: Record<string, string>;
  /** argocd-rbac-cm data. */
  rbac?: Record<string, string>;
}

/** The four components the tier runs, each the role ARGOCD_BINARY_NAME gives the one binary. */
type Component =
  'argocd-repo-server' | 'argocd-server' | 'argocd-application-controller' | 'argocd-notifications';

/**
 * A real Argo CD as local processes, as its own local development runs it (its Procfile):
 * argocd-server (plain HTTP, `--insecure`, on 127.0.0.1), repo-server, application-controller and
 * the notifications controller, with ARGOCD_FAKE_IN_CLUSTER so that the in-cluster destination
 * `https://kubernetes.default.svc` is the cluster of the admin kubeconfig; the machine's Redis, in
 * a database of its own. The CRDs and the ConfigMaps/Secrets come from the module's `manifests/`.
 */
export class RealArgoCd {
  /** `http://127.0.0.1:<port>`: the REST API the service calls. */
  serverUrl = '';
  /** The admin's initial password, as `argocd admin initial-password` reads it. */
  adminPassword = '';
  readonly dir: string;
  private readonly processes = new Map<Component, RunningProcess>();
  private redisDb?: RedisDatabase;
  private readonly ports = {
    server: 0,
    serverMetrics: 0,
    repo: 0,
    repoMetrics: 0,
    controllerMetrics: 0,
    notificationsMetrics: 0,
  };

  private constructor(
    readonly cluster: RealCluster,
    private readonly options: RealArgoCdOptions,
  ) {
    this.dir = join(cluster.dir, 'argocd');
  }

  static async start(cluster: RealCluster, options: RealArgoCdOptions = {}): Promise<RealArgoCd> {
    const argocd = new RealArgoCd(cluster, options);
    try {
      await argocd.launch();
    } catch (err) {
      await argocd.stop();
      throw err;
    }
    return argocd;
  }

  get version(): string {
    return built().version;
  }

  /** The admin's API (session login). */
  admin(): Promise<ArgoCdApi> {
    return ArgoCdApi.login(this.serverUrl, 'admin', this.adminPassword);
  }

  private async launch(): Promise<void> {
    for (const sub of ['tmp', 'home', 'tls', 'ssh', 'gpg/keys', 'gpg/source', 'plugins'])
      mkdirSync(join(this.dir, sub), { recursive: true, mode: 0o700 });
    for (const key of Object.keys(this.ports) as (keyof typeof this.ports)[])
      this.ports[key] = await freePort();
    this.serverUrl = `http://127.0.0.1:${this.ports.server}`;
    this.redisDb = await RedisDatabase.lease();
    await this.installResources();
    await this.startComponent('argocd-repo-server', `http://127.0.0.1:${this.ports.repoMetrics}/healthz`);
    await this.startComponent('argocd-server', `${this.serverUrl}/healthz`);
    await this.startComponent(
      'argocd-application-controller',
      `http://127.0.0.1:${this.ports.controllerMetrics}/healthz`,
    );
    await this.startComponent(
      'argocd-notifications',
      `http://127.0.0.1:${this.ports.notificationsMetrics}/metrics`,
    );
    this.adminPassword = await eventually(
      () => this.readSecret('argocd-initial-admin-secret', 'password'),
      60_000,
      500,
    );
  }

  /** The CRDs, the namespace, upstream's base ConfigMaps and Secrets with this tier's settings merged in. */
  private async installResources(): Promise<void> {
    const manifests = built().manifests;
    const read = (file: string) =>
      parseAllDocuments(readFileSync(file, 'utf8')).map(
        (d) =>
          d.toJS() as { kind?: string; metadata: { name: string }; data?: Record<string, string> } | null,
      );
    const crds = readdirSync(join(manifests, 'crds')).filter((f) => f.endsWith('-crd.yaml'));
    await this.cluster.apply(
      crds.map((f) => readFileSync(join(manifests, 'crds', f), 'utf8')).join('\n---\n'),
    );
    // Right after the apply a CRD may have no conditions yet, which `kubectl wait` takes for an error.
    await eventually(
      () =>
        this.cluster.kubectl([
          'wait',
          '--for=condition=Established',
          '--timeout=60s',
          'crd',
          'applications.argoproj.io',
          'appprojects.argoproj.io',
          'applicationsets.argoproj.io',
        ]),
      120_000,
      1000,
    );
    await this.cluster.apply(
      JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ARGOCD_NAMESPACE } }),
    );
    const extra: Record<string, Record<string, string> | undefined> = {
      'argocd-cm': this.options.argocdCm,
      'argocd-rbac-cm': this.options.rbac,
    };
    const objects = ['config', 'notification']
      .flatMap((sub) => readdirSync(join(manifests, 'base', sub)).map((f) => join(manifests, 'base', sub, f)))
      .flatMap(read)
      .filter((o) => o?.kind === 'ConfigMap' || o?.kind === 'Secret')
      .map((o) => ({
        ...o!,
        metadata: { ...o!.metadata, namespace: ARGOCD_NAMESPACE },
        ...(extra[o!.metadata.name] ? { data: { ...o!.data, ...extra[o!.metadata.name] } } : {}),
      }));
    await this.cluster.apply(objects.map((o) => JSON.stringify(o)).join('\n'));
  }

  /** Merges `data` into a ConfigMap of the Argo CD namespace (the components watch them). */
  async patchConfigMap(name: string, data: Record<string, string>): Promise<void> {
    await this.cluster.kubectl([
      'patch',
      'configmap',
      name,
      '-n',
      ARGOCD_NAMESPACE,
      '--type=merge',
      '-p',
      JSON.stringify({ data }),
    ]);
  }

  /** Merges `stringData` into a Secret of the Argo CD namespace. */
  async patchSecret(name: string, stringData: Record<string, string>): Promise<void> {
    await this.cluster.kubectl([
      'patch',
      'secret',
      name,
      '-n',
      ARGOCD_NAMESPACE,
      '--type=merge',
      '-p',
      JSON.stringify({ stringData }),
    ]);
  }

  async readSecret(name: string, key: string): Promise<string> {
    const value = await this.cluster.kubectl([
      'get',
      'secret',
      name,
      '-n',
      ARGOCD_NAMESPACE,
      '-o',
      `jsonpath={.data.${key}}`,
    ]);
    if (!value.trim()) throw new Error(`Secret ${ARGOCD_NAMESPACE}/${name} has no ${key}`);
    return Buffer.from(value.trim(), 'base64').toString('utf8');
  }

  private args(component: Component): string[] {
    const redis = ['--redis', REDIS_ADDRESS, '--redisdb', String(this.redisDb!.db)];
    const repoServer = `127.0.0.1:${this.ports.repo}`;
    const kube = ['--kubeconfig', this.cluster.adminKubeconfig, '--namespace', ARGOCD_NAMESPACE];
    const log = ['--loglevel', 'info'];
    switch (component) {
      case 'argocd-repo-server':
        return [
          ...log,
          ...redis,
          '--address',
          '127.0.0.1',
          '--port',
          String(this.ports.repo),
          '--metrics-address',
          '127.0.0.1',
          '--metrics-port',
          String(this.ports.repoMetrics),
        ];
      case 'argocd-server':
        return [
          ...log,
          ...redis,
          ...kube,
          '--insecure',
          '--address',
          '127.0.0.1',
          '--port',
          String(this.ports.server),
          '--metrics-port',
          String(this.ports.serverMetrics),
          '--repo-server',
          repoServer,
        ];
      case 'argocd-application-controller':
        return [
          ...log,
          ...redis,
          ...kube,
          '--repo-server',
          repoServer,
          '--metrics-port',
          String(this.ports.controllerMetrics),
        ];
      case 'argocd-notifications':
        return [
          ...log,
          ...kube,
          '--argocd-repo-server',
          repoServer,
          '--metrics-port',
          String(this.ports.notificationsMetrics),
        ];
    }
  }

  private env(component: Component): Record<string, string> {
    const dir = (...parts: string[]) => join(this.dir, ...parts);
    return {
      HOME: dir('home'),
      TMPDIR: dir('tmp'),
      KUBECONFIG: this.cluster.adminKubeconfig,
      ARGOCD_BINARY_NAME: component,
      ARGOCD_FAKE_IN_CLUSTER: 'true',
      ARGOCD_GPG_ENABLED: 'false',
      ARGOCD_TLS_DATA_PATH: dir('tls'),
      ARGOCD_SSH_DATA_PATH: dir('ssh'),
      ARGOCD_GNUPGHOME: dir('gpg', 'keys'),
      ARGOCD_GPG_DATA_PATH: dir('gpg', 'source'),
      ARGOCD_PLUGINSOCKFILEPATH: dir('plugins'),
      // `timeout.reconciliation` of argocd-cm, which the install manifests hand to the controller and
      // the repo-server as this variable: a new commit is noticed within seconds, not minutes.
      ARGOCD_RECONCILIATION_TIMEOUT: '10s',
      ARGOCD_RECONCILIATION_JITTER: '0',
    };
  }

  private async startComponent(component: Component, healthUrl: string): Promise<void> {
    const proc = this.cluster.processes.start({
      name: component,
      command: binary(built(), 'argocd'),
      args: this.args(component),
      env: this.env(component),
      cwd: join(this.dir, 'tmp'),
    });
    this.processes.set(component, proc);
    await whileRunning([proc], async () => {
      const res = await fetch(healthUrl);
      await res.body?.cancel();
      if (!res.ok) throw new Error(`${component}: ${healthUrl} answered ${res.status}`);
    });
  }

  /** Components that exited although nobody stopped them. */
  crashed(): string[] {
    return [...this.processes.values()]
      .filter((p) => p.exitCode() !== null)
      .map((p) => `${p.name} exited with ${p.exitCode()} (log: ${p.logFile})`);
  }

  async stop(): Promise<void> {
    for (const proc of [...this.processes.values()].reverse()) await this.cluster.processes.stop(proc);
    await this.redisDb?.release();
  }
}

/** Argo CD as tools/build.sh built it. */
function built(): NonNullable<ReturnType<typeof binaries>['argocd']> {
  const argocd = binaries().argocd;
  if (!argocd)
    throw new Error('Argo CD was not built (KEPTN_GITOPS_REAL_ARGOCD=0): run tools/build.sh without it');
  return argocd;
}
