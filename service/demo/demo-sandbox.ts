import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArgoCdSimulator } from '../sandbox/argocd/index.js';
import { ControlPlaneSimulator } from '../sandbox/controlplane/control-plane-simulator.js';
import {
  FluxControllerSimulator,
  seedKustomization,
  seedWaitingKustomization,
} from '../sandbox/flux/index.js';
import { KubeApiSimulator } from '../sandbox/kube/kube-api-simulator.js';
import { writeSandboxKubeconfig } from '../sandbox/kube/kubeconfig.js';

export const DEMO_ARGOCD_TOKEN = 'demo-argocd-token';

/** The sample project: one service per tool, and one whose Flux reconcile stalls. */
export const DEMO_DELIVERIES = [
  { service: 'carts', tool: 'argocd', expect: 'pass' },
  { service: 'podinfo', tool: 'flux', expect: 'pass' },
  { service: 'cartdb', tool: 'flux', expect: 'fail' },
] as const;

const TARGETS = `# keptn-gitops demo: project sockshop, stage dev
targets:
  - match: {project: sockshop, stage: dev, service: carts}
    argocd:
      application: "\${service}-\${stage}"
    timeout: 1m
  - match: {project: sockshop, stage: dev, service: [podinfo, cartdb]}
    flux:
      kind: Kustomization
      name: "\${service}"
      namespace: flux-system
      withSource: true
    timeout: 1m
`;

/** The simulated control plane, Kubernetes with Flux, and Argo CD, seeded for the sample project. */
export class DemoSandbox {
  readonly controlPlane = new ControlPlaneSimulator();
  readonly kube = new KubeApiSimulator();
  readonly argocd = new ArgoCdSimulator();
  private flux?: FluxControllerSimulator;
  readonly dir = mkdtempSync(join(tmpdir(), 'keptn-gitops-demo-'));
  kubeconfig = '';
  readonly targetsFile = join(this.dir, 'config.yaml');

  async start(natsUrl?: string): Promise<void> {
    await this.controlPlane.start(natsUrl ? { natsUrl } : {});
    await this.kube.start();
    this.flux = new FluxControllerSimulator(this.kube, { delayMs: 400 });
    seedWaitingKustomization(this.kube, 'podinfo');
    seedKustomization(this.kube, {
      name: 'cartdb',
      namespace: 'flux-system',
      wait: true,
      sourceRef: { kind: 'GitRepository', name: 'podinfo' },
    });
    this.flux.script('Kustomization', 'flux-system', 'cartdb', {
      type: 'stalled',
      reason: 'HealthCheckFailed',
      message:
        "health check failed after 30s: timeout waiting for: [StatefulSet/sockshop-dev/cartdb status: 'InProgress']",
    });
    await this.argocd.start({ tokens: [DEMO_ARGOCD_TOKEN], stepMs: 300 });
    this.argocd.addApplication({
      name: 'carts-dev',
      namespace: 'argocd',
      images: ['docker.io/keptnexamples/carts:0.13.1'],
      externalURLs: ['http://carts.sockshop-dev.example.com'],
    });
    this.kubeconfig = writeSandboxKubeconfig({
      server: this.kube.url,
      path: join(this.dir, 'kubeconfig'),
      namespace: 'keptn',
    });
    writeFileSync(this.targetsFile, TARGETS);
  }

  async stop(): Promise<void> {
    this.flux?.stop();
    await Promise.allSettled([this.controlPlane.stop(), this.kube.stop(), this.argocd.stop()]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
