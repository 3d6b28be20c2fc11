import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../../support/eventually.js';
import { freePort } from '../../support/ports.js';
import { binaries, binary } from './binaries.js';
import { writeKubeconfig } from './kubeconfig.js';
import { makeClusterPki, type ClusterPki } from './pki.js';
import { ProcessGroup, type RunningProcess } from './processes.js';

export interface KubectlOptions {
  /** Written to kubectl's standard input (e.g. manifests for `apply -f -`). */
  input?: string;
  /** Default: the admin kubeconfig. */
  kubeconfig?: string;
  timeoutMs?: number;
}

/** How long a cold control plane may take to come up on a loaded 2-core machine. */
const STARTUP_TIMEOUT_MS = 180_000;

/**
 * A real Kubernetes cluster without containers, every part a local process on 127.0.0.1 with explicit
 * ports: etcd, kube-apiserver (secure serving, service-account token signing, RBAC authorization, as
 * envtest starts it), kube-controller-manager (Deployments become ReplicaSets and Pods), kube-scheduler
 * (Pods are bound to a node) and kwok (fake nodes that make bound Pods Running and Ready).
 */
export class RealCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'keptn-gitops-real-'));
  readonly logDir = join(this.dir, 'logs');
  readonly processes: ProcessGroup;
  /** The API server's URL, https://127.0.0.1:<port>. */
  server = '';
  /** A kubeconfig for a client certificate in group system:masters. */
  adminKubeconfig = '';
  pki!: ClusterPki;

  private constructor() {
    mkdirSync(this.logDir);
    this.processes = new ProcessGroup(this.logDir);
  }

  static async start(): Promise<RealCluster> {
    const cluster = new RealCluster();
    try {
      await cluster.launch();
      return cluster;
    } catch (err) {
      const tails = cluster.processes.tails();
      await cluster.stop({ keepLogs: true });
      throw new Error(
        `the real cluster did not start (logs in ${cluster.logDir}): ${(err as Error).message}\n${tails}`,
        { cause: err },
      );
    }
  }

  private async launch(): Promise<void> {
    const pkiDir = join(this.dir, 'pki');
    mkdirSync(pkiDir);
    this.pki = makeClusterPki(pkiDir);
    const etcdUrl = await this.startEtcd();
    const port = await freePort();
    this.server = `https://127.0.0.1:${port}`;
    this.adminKubeconfig = writeKubeconfig(join(this.dir, 'admin.kubeconfig'), {
      server: this.server,
      caCert: this.pki.caCert,
      user: { clientCertificate: this.pki.adminCert, clientKey: this.pki.adminKey },
    });
    const apiserver = this.startApiServer(etcdUrl, port);
    await whileRunning([apiserver], () => this.kubectl(['get', '--raw', '/readyz'], { timeoutMs: 10_000 }));
    const components = [
      apiserver,
      await this.startControllerManager(),
      await this.startScheduler(),
      await this.startKwok(),
    ];
    await this.addNode('kwok-node-0');
    await whileRunning(
      components,
      async () =>
        (await this.kubectl([
          'get',
          'node',
          'kwok-node-0',
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        ])) === 'True',
    );
    // The service-account controller of kube-controller-manager creates `default` in each namespace; Pods
    // need it.
    await whileRunning(components, () => this.kubectl(['get', 'serviceaccount', 'default', '-n', 'default']));
  }

  private async startEtcd(): Promise<string> {
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    const client = `http://127.0.0.1:${clientPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    const etcd = this.processes.start({
      name: 'etcd',
      command: binary(binaries().etcd, 'etcd'),
      args: [
        '--name=real',
        `--data-dir=${join(this.dir, 'etcd')}`,
        `--listen-client-urls=${client}`,
        `--advertise-client-urls=${client}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=real=${peer}`,
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ],
    });
    await whileRunning([etcd], async () => {
      const res = await fetch(`${client}/health`);
      if (!res.ok) throw new Error(`etcd /health ${res.status}`);
    });
    return client;
  }

  private startApiServer(etcdUrl: string, port: number): RunningProcess {
    return this.processes.start({
      name: 'kube-apiserver',
      command: binary(binaries().kubernetes, 'kube-apiserver'),
      args: [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        // The endpoint reconciler refuses a loopback address; a single local server needs none.
        '--endpoint-reconciler-type=none',
        `--secure-port=${port}`,
        `--cert-dir=${join(this.dir, 'apiserver-certs')}`,
        `--tls-cert-file=${this.pki.serverCert}`,
        `--tls-private-key-file=${this.pki.serverKey}`,
        `--client-ca-file=${this.pki.caCert}`,
        '--authorization-mode=RBAC',
        '--service-cluster-ip-range=10.0.0.0/24',
        '--allow-privileged=true',
        `--service-account-issuer=${this.server}/`,
        `--service-account-key-file=${this.pki.serviceAccountPub}`,
        `--service-account-signing-key-file=${this.pki.serviceAccountKey}`,
        '--profiling=false',
        '--v=1',
      ],
    });
  }

  private async startControllerManager(): Promise<RunningProcess> {
    return this.processes.start({
      name: 'kube-controller-manager',
      command: binary(binaries().kubernetes, 'kube-controller-manager'),
      args: [
        `--kubeconfig=${this.adminKubeconfig}`,
        `--authentication-kubeconfig=${this.adminKubeconfig}`,
        `--authorization-kubeconfig=${this.adminKubeconfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${await freePort()}`,
        '--leader-elect=false',
        `--service-account-private-key-file=${this.pki.serviceAccountKey}`,
        `--root-ca-file=${this.pki.caCert}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        '--profiling=false',
        '--v=1',
      ],
    });
  }

  private async startScheduler(): Promise<RunningProcess> {
    return this.processes.start({
      name: 'kube-scheduler',
      command: binary(binaries().kubernetes, 'kube-scheduler'),
      args: [
        `--kubeconfig=${this.adminKubeconfig}`,
        `--authentication-kubeconfig=${this.adminKubeconfig}`,
        `--authorization-kubeconfig=${this.adminKubeconfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${await freePort()}`,
        '--leader-elect=false',
        '--profiling=false',
        '--v=1',
      ],
    });
  }

  private async startKwok(): Promise<RunningProcess> {
    const stages = binaries().kwok.stages;
    const stageFiles = [
      'node/fast/node-initialize.yaml',
      'node/heartbeat-with-lease/node-heartbeat-with-lease.yaml',
      'pod/fast/pod-ready.yaml',
      'pod/fast/pod-complete.yaml',
      'pod/fast/pod-delete.yaml',
    ];
    return this.processes.start({
      name: 'kwok',
      command: binary(binaries().kwok, 'kwok'),
      args: [
        `--kubeconfig=${this.adminKubeconfig}`,
        '--manage-all-nodes=true',
        // Node Leases, renewed as a kubelet renews them (kwokctl's default). Without them the node's only
        // heartbeat is its status, patched about once a minute: longer than kube-controller-manager's grace
        // period, so it marks every Pod on the node NotReady after ~50 s and Deployments lose Available.
        '--node-lease-duration-seconds=40',
        `--server-address=127.0.0.1:${await freePort()}`,
        ...stageFiles.flatMap((file) => ['--config', join(stages, file)]),
      ],
    });
  }

  /** A fake node that kwok keeps Ready; the scheduler binds Pods to it. */
  async addNode(name: string, labels: Record<string, string> = {}): Promise<void> {
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        annotations: { 'kwok.x-k8s.io/node': 'fake' },
        labels: { 'kubernetes.io/hostname': name, type: 'kwok', ...labels },
      },
      status: {
        allocatable: { cpu: '32', memory: '256Gi', pods: '110' },
        capacity: { cpu: '32', memory: '256Gi', pods: '110' },
      },
    };
    // create, not apply: a Node's status may be set on create, while server-side apply resets it.
    await this.kubectl(['create', '-f', '-'], { input: JSON.stringify(node) });
  }

  /** Runs the cluster's own kubectl (the server's version); resolves with its standard output. */
  kubectl(args: string[], options: KubectlOptions = {}): Promise<string> {
    const kubeconfig = options.kubeconfig ?? this.adminKubeconfig;
    return new Promise((resolve, reject) => {
      const child = execFile(
        binary(binaries().kubectl, 'kubectl'),
        [`--kubeconfig=${kubeconfig}`, ...args],
        {
          timeout: options.timeoutMs ?? 60_000,
          maxBuffer: 64 * 1024 * 1024,
          env: { PATH: process.env.PATH ?? '', HOME: this.dir },
        },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`kubectl ${args.join(' ')}: ${stderr.trim() || err.message}`));
          else resolve(stdout);
        },
      );
      child.stdin?.end(options.input ?? '');
    });
  }

  /** `kubectl apply --server-side` of YAML or JSON manifests. */
  async apply(manifests: string, options: Omit<KubectlOptions, 'input'> = {}): Promise<void> {
    await this.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], {
      ...options,
      input: manifests,
    });
  }

  /**
   * A kubeconfig whose user is a ServiceAccount's token (TokenRequest), so the RBAC authorizer judges each
   * call by that account's roles.
   */
  async serviceAccountKubeconfig(
    namespace: string,
    name: string,
    options: { path?: string; namespace?: string } = {},
  ): Promise<string> {
    const token = (await this.kubectl(['create', 'token', name, '-n', namespace, '--duration=2h'])).trim();
    const path = options.path ?? join(this.dir, `${namespace}-${name}.kubeconfig`);
    return writeKubeconfig(path, {
      server: this.server,
      caCert: this.pki.caCert,
      user: { token },
      namespace: options.namespace ?? namespace,
    });
  }

  /** A file in the cluster's temporary directory (removed with it). */
  writeFile(name: string, content: string): string {
    const path = join(this.dir, name);
    writeFileSync(path, content);
    return path;
  }

  /** Ends every process by its pid; removes the temporary directory unless its logs are kept. */
  async stop(options: { keepLogs?: boolean } = {}): Promise<void> {
    await this.processes.stopAll();
    if (!options.keepLogs) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Waits for `check` like eventually(), but fails at once when one of `processes` exits. */
export async function whileRunning<T>(
  processes: RunningProcess[],
  check: () => T | Promise<T>,
  timeoutMs = STARTUP_TIMEOUT_MS,
): Promise<T> {
  let settled = false;
  const exits = processes.map((proc) =>
    proc.exited.then((code) => {
      if (!settled) throw new Error(`${proc.name} exited with ${code} (log: ${proc.logFile})`);
      return undefined as never;
    }),
  );
  try {
    return await Promise.race([eventually(check, timeoutMs, 300), ...exits]);
  } finally {
    settled = true;
  }
}
