import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArgoCdSimulator } from '../service/sandbox/argocd/index.js';
import { ControlPlaneSimulator } from '../service/sandbox/controlplane/control-plane-simulator.js';
import { FluxControllerSimulator, seedKustomization } from '../service/sandbox/flux/index.js';
import { freePort } from '../service/sandbox/free-port.js';
import { KubeApiSimulator } from '../service/sandbox/kube/kube-api-simulator.js';
import { writeSandboxKubeconfig } from '../service/sandbox/kube/kubeconfig.js';
import { NatsServer } from '../service/sandbox/nats/nats-server.js';
import { CONFIGMAPS, KubeApi } from '../service/kube/kube-api.js';
import { loadKubeConfig } from '../service/kube/kube-config.js';

/** Where the bench writes its own record-sized ConfigMaps (left out of the service's request counts). */
export const RECORD_WRITE_NAMESPACE = 'bench-records';
/** About the size of a delivery record's JSON. */
const RECORD_SIZED = 'x'.repeat(900);

export const ARGOCD_TOKEN = 'bench-argocd-token';
/** The Keptn stage whose services are Argo CD applications; every other stage is a Flux namespace. */
export const ARGO_STAGE = 'bench-argo';

/**
 * One targets file for every phase, by placeholders: in stage `bench-argo` the service is an Argo
 * CD application of that name; in any other stage it is the Kustomization `<service>` in the
 * namespace named like the stage.
 */
const TARGETS = `targets:
  - match: {project: bench, stage: ${ARGO_STAGE}}
    argocd:
      application: "\${service}"
    timeout: 3m
  - match: {project: bench}
    flux:
      kind: Kustomization
      name: "\${service}"
      namespace: "\${stage}"
    timeout: 3m
`;

/** A real nats-server and the simulators (control plane, Kubernetes with Flux, Argo CD), all on 127.0.0.1. */
export class BenchSandbox {
  readonly dir = mkdtempSync(join(tmpdir(), 'keptn-gitops-bench-'));
  readonly controlPlane = new ControlPlaneSimulator();
  readonly kube = new KubeApiSimulator();
  readonly argocd = new ArgoCdSimulator();
  flux!: FluxControllerSimulator;
  nats!: NatsServer;
  kubeconfig = '';
  readonly targetsFile = join(this.dir, 'config.yaml');
  private recordApi?: KubeApi;

  async start(options: { fluxDelayMs: number; argoStepMs: number }): Promise<void> {
    this.nats = await NatsServer.start();
    // The control plane only takes the registration here: it is not put on NATS, so the bench
    // process does not also parse every event (the service does not need it to).
    await this.controlPlane.start();
    await this.kube.start();
    this.flux = new FluxControllerSimulator(this.kube, { delayMs: options.fluxDelayMs });
    await this.argocd.start({ tokens: [ARGOCD_TOKEN], stepMs: options.argoStepMs });
    this.kubeconfig = writeSandboxKubeconfig({
      server: this.kube.url,
      path: join(this.dir, 'kubeconfig'),
      namespace: 'keptn',
    });
    writeFileSync(this.targetsFile, TARGETS);
    this.recordApi = new KubeApi(loadKubeConfig(this.kubeconfig));
  }

  /** Milliseconds of one ConfigMap create of a record's size, as the service makes before each `.started`. */
  async timeRecordWrite(name: string): Promise<number> {
    const body = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: RECORD_WRITE_NAMESPACE },
      data: { record: RECORD_SIZED },
    };
    const began = process.hrtime.bigint();
    await this.recordApi!.create(CONFIGMAPS, RECORD_WRITE_NAMESPACE, body);
    return Number(process.hrtime.bigint() - began) / 1e6;
  }

  /** The service's environment: NATS mode, core NATS, warn-level logs. */
  async serviceEnv(): Promise<{ env: Record<string, string>; healthPort: number }> {
    const [healthPort, webhookPort] = [await freePort(), await freePort()];
    return {
      healthPort,
      env: {
        EVENTBROKER: this.nats.url,
        NATS_JETSTREAM: 'false',
        SHIPYARD_CONTROLLER: this.controlPlane.url,
        GITOPS_CONFIG: this.targetsFile,
        KUBECONFIG: this.kubeconfig,
        K8S_NAMESPACE: 'keptn',
        ARGOCD_SERVER: this.argocd.url,
        ARGOCD_AUTH_TOKEN: ARGOCD_TOKEN,
        HEALTH_ENDPOINT_PORT: String(healthPort),
        WEBHOOK_PORT: String(webhookPort),
        LOG_LEVEL: 'warn',
      },
    };
  }

  /** Kustomizations `<prefix><i>` in `namespace`, never reconciled yet. */
  seedKustomizations(namespace: string, names: readonly string[]): void {
    for (const name of names)
      seedKustomization(this.kube, { name, namespace, sourceRef: { kind: 'GitRepository', name: 'bench' } });
  }

  /** The kube API path of a Kustomization (for the polling baseline). */
  kustomizationPath(namespace: string, name: string): string {
    const type = this.kube.type('Kustomization');
    return `/apis/${type.group}/${type.version}/namespaces/${namespace}/${type.plural}/${name}`;
  }

  async stop(): Promise<void> {
    await this.recordApi?.close();
    this.flux?.stop();
    await Promise.allSettled([this.controlPlane.stop(), this.kube.stop(), this.argocd.stop()]);
    await this.nats?.dispose();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
