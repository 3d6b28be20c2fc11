import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from '../../support/eventually.js';
import { freePort } from '../../support/ports.js';
import { binaries, binary } from './binaries.js';
import { whileRunning, type RealCluster } from './cluster.js';
import { GitServer } from './git-server.js';
import { HelmRepository } from './helm-repo.js';
import type { RunningProcess } from './processes.js';

export const FLUX_NAMESPACE = 'flux-system';

/** The parts of a Flux object's status the tests read. */
export interface FluxStatusObject {
  metadata: { name: string; generation?: number; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: {
    observedGeneration?: number;
    lastHandledReconcileAt?: string;
    lastAppliedRevision?: string;
    lastAttemptedRevision?: string;
    artifact?: { revision?: string };
    history?: { chartVersion?: string }[];
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

const CONTROLLERS = [
  'source-controller',
  'kustomize-controller',
  'helm-controller',
  'notification-controller',
] as const;

/**
 * Flux on the real cluster: the CRDs from each controller's own module, the four controllers as local
 * processes (watching all namespaces, as the admin; leader election off), a Git server and a Helm
 * repository on loopback for them to read.
 */
export class RealFlux {
  readonly git: GitServer;
  readonly helmRepo: HelmRepository;
  private readonly controllers: RunningProcess[] = [];

  private constructor(readonly cluster: RealCluster) {
    const dir = join(cluster.dir, 'flux');
    mkdirSync(dir);
    this.git = new GitServer(dir);
    this.helmRepo = new HelmRepository(dir);
  }

  static async start(cluster: RealCluster): Promise<RealFlux> {
    const flux = new RealFlux(cluster);
    await flux.launch();
    return flux;
  }

  private async launch(): Promise<void> {
    await this.git.start(await freePort());
    await this.helmRepo.start(await freePort());
    for (const controller of CONTROLLERS) {
      const dir = binaries().flux[controller].crds;
      const crds = readdirSync(dir)
        .filter((file) => file.endsWith('.yaml'))
        .map((file) => readFileSync(join(dir, file), 'utf8'));
      await this.cluster.apply(crds.join('\n---\n'));
    }
    await this.cluster.kubectl(['wait', '--for=condition=Established', '--timeout=120s', 'crd', '--all']);
    await this.cluster.apply(
      JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: FLUX_NAMESPACE } }),
    );

    const storageDir = join(this.cluster.dir, 'flux', 'artifacts');
    mkdirSync(storageDir);
    const [eventsPort, receiverPort, storagePort] = [await freePort(), await freePort(), await freePort()];
    const eventsUrl = `http://127.0.0.1:${eventsPort}/`;
    const common = async () => [
      `--metrics-addr=127.0.0.1:${await freePort()}`,
      `--health-addr=127.0.0.1:${await freePort()}`,
      '--log-level=info',
    ];
    const start = async (controller: (typeof CONTROLLERS)[number], args: string[]) => {
      const proc = this.cluster.processes.start({
        name: controller,
        command: binary(binaries().flux[controller], controller),
        args: [...(await common()), ...args],
        env: { KUBECONFIG: this.cluster.adminKubeconfig, RUNTIME_NAMESPACE: FLUX_NAMESPACE },
      });
      this.controllers.push(proc);
      return proc;
    };
    await start('notification-controller', [
      `--events-addr=127.0.0.1:${eventsPort}`,
      `--receiverAddr=127.0.0.1:${receiverPort}`,
      '--watch-all-namespaces=true',
    ]);
    await start('source-controller', [
      `--events-addr=${eventsUrl}`,
      '--watch-all-namespaces=true',
      `--storage-path=${storageDir}`,
      `--storage-addr=127.0.0.1:${storagePort}`,
      `--storage-adv-addr=127.0.0.1:${storagePort}`,
    ]);
    await start('kustomize-controller', [`--events-addr=${eventsUrl}`, '--watch-all-namespaces=true']);
    await start('helm-controller', [`--events-addr=${eventsUrl}`, '--watch-all-namespaces=true']);
    // Each controller serves /readyz on its health address once its manager has started.
    await whileRunning(this.controllers, async () => {
      const log = (proc: RunningProcess) => readFileSync(proc.logFile, 'utf8');
      const waiting = this.controllers.filter((proc) => !/Starting workers/.test(log(proc)));
      if (waiting.length > 0)
        throw new Error(`still starting: ${waiting.map((proc) => proc.name).join(', ')}`);
    });
  }

  /**
   * A Flux object in flux-system as the API server has it now (kind as kubectl names it, e.g.
   * `kustomization`).
   */
  async get<T = FluxStatusObject>(kind: string, name: string): Promise<T> {
    return JSON.parse(
      await this.cluster.kubectl(['get', kind, name, '-n', FLUX_NAMESPACE, '-o', 'json']),
    ) as T;
  }

  /** Asks a controller to reconcile now, as `flux reconcile` does: the requestedAt annotation. */
  async requestReconcile(kind: string, name: string): Promise<string> {
    const token = new Date().toISOString();
    await this.cluster.kubectl([
      'annotate',
      '--overwrite',
      kind,
      name,
      '-n',
      FLUX_NAMESPACE,
      `reconcile.fluxcd.io/requestedAt=${token}`,
    ]);
    return token;
  }

  /** Waits until the object has handled the reconcile request `token` and is Ready; returns it. */
  async reconciled(
    kind: string,
    name: string,
    token: string,
    timeoutMs = 120_000,
  ): Promise<FluxStatusObject> {
    return eventually(
      async () => {
        const obj = await this.get(kind, name);
        const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
        if (obj.status?.lastHandledReconcileAt !== token || ready?.status !== 'True')
          throw new Error(`${kind}/${name} not reconciled yet: ${JSON.stringify(obj.status ?? {})}`);
        return obj;
      },
      timeoutMs,
      500,
    );
  }

  /** Waits until the object is Ready=True; returns it. */
  async ready(kind: string, name: string, timeoutMs = 120_000): Promise<FluxStatusObject> {
    return eventually(
      async () => {
        const obj = await this.get(kind, name);
        const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
        if (ready?.status !== 'True' || obj.status?.observedGeneration !== obj.metadata.generation)
          throw new Error(`${kind}/${name} not ready: ${JSON.stringify(obj.status ?? {})}`);
        return obj;
      },
      timeoutMs,
      500,
    );
  }

  /** The controllers' versions, e.g. for a report. */
  static versions(): Record<string, string> {
    return Object.fromEntries(
      CONTROLLERS.map((controller) => [controller, binaries().flux[controller].version]),
    );
  }

  async stop(): Promise<void> {
    for (const proc of this.controllers.reverse()) await this.cluster.processes.stop(proc);
    await Promise.all([this.git.stop(), this.helmRepo.stop()]);
  }
}
