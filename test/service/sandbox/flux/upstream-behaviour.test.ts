import { expect } from 'chai';
import type { KubeObject } from '../../../../service/sandbox/kube/object-store.js';
import { KubeApiSimulator } from '../../../../service/sandbox/kube/kube-api-simulator.js';
import {
  FluxControllerSimulator,
  seedGitRepository,
  seedHelmChart,
  seedHelmRelease,
  seedKustomization,
} from '../../../../service/sandbox/flux/index.js';
import { eventually } from '../../../support/eventually.js';

const NEW = 'main@sha1:3bf9df1b9be81c755287f25ba9e7fb4e178af4e0';

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

/**
 * The conditions the real controllers write, as the real systems tier saw them (source-controller
 * v1.9.3, kustomize-controller v1.9.6, helm-controller v1.6.4): each case is a difference the
 * simulator had.
 */
describe('FluxControllerSimulator: conditions as the real Flux controllers write them', () => {
  let sim: KubeApiSimulator;
  let flux: FluxControllerSimulator;

  beforeEach(() => {
    sim = new KubeApiSimulator();
    flux = new FluxControllerSimulator(sim, { delayMs: 5 });
  });
  afterEach(() => flux.stop());

  /** Sets a fresh requestedAt on the object and waits until the simulated controller handled it. */
  async function reconcile(kind: string, namespace: string, name: string): Promise<Condition[]> {
    const obj = sim.get(kind, namespace, name)!;
    const token = new Date().toISOString();
    sim.update(kind, {
      ...obj,
      metadata: { ...obj.metadata, annotations: { 'reconcile.fluxcd.io/requestedAt': token } },
    });
    const done = await eventually(() => {
      const current = sim.get(kind, namespace, name) as KubeObject & {
        status?: { lastHandledReconcileAt?: string; conditions?: Condition[] };
      };
      const conditions = current.status?.conditions ?? [];
      if (
        current.status?.lastHandledReconcileAt !== token ||
        conditions.some((c) => c.type === 'Reconciling')
      ) {
        throw new Error(`${kind}/${name} not reconciled yet`);
      }
      return conditions;
    }, 5000);
    return done;
  }
  const byType = (conditions: Condition[]) =>
    Object.fromEntries(conditions.map((c) => [c.type, [c.status, c.reason, c.message]]));

  it("a GitRepository's new artifact: ArtifactInStorage beside Ready, with the same reason and message", async () => {
    seedGitRepository(sim, { name: 'podinfo' });
    flux.setSourceRevision('GitRepository', 'flux-system', 'podinfo', NEW);
    const conditions = byType(await reconcile('GitRepository', 'flux-system', 'podinfo'));
    const stored = ['True', 'Succeeded', `stored artifact for revision '${NEW}'`];
    expect(conditions).to.deep.equal({ Ready: stored, ArtifactInStorage: stored });
  });

  it("a HelmChart's pull: Ready and ArtifactInStorage say ChartPullSucceeded with the chart and version", async () => {
    seedHelmChart(sim, { name: 'flux-system-web', chart: 'web', version: '1.x' });
    flux.setSourceRevision('HelmChart', 'flux-system', 'flux-system-web', '1.1.0');
    const conditions = byType(await reconcile('HelmChart', 'flux-system', 'flux-system-web'));
    const pulled = ['True', 'ChartPullSucceeded', "pulled 'web' chart with version '1.1.0'"];
    expect(conditions).to.deep.equal({ Ready: pulled, ArtifactInStorage: pulled });
  });

  it('a Kustomization with wait: Healthy=True beside Ready; without health checks, no Healthy', async () => {
    seedGitRepository(sim, { name: 'podinfo' });
    seedKustomization(sim, {
      name: 'checked',
      sourceRef: { kind: 'GitRepository', name: 'podinfo' },
      wait: true,
    });
    seedKustomization(sim, { name: 'unchecked', sourceRef: { kind: 'GitRepository', name: 'podinfo' } });
    const checked = byType(await reconcile('Kustomization', 'flux-system', 'checked'));
    expect(Object.keys(checked)).to.have.members(['Ready', 'Healthy']);
    expect(checked.Healthy!.slice(0, 2)).to.deep.equal(['True', 'Succeeded']);
    expect(checked.Healthy![2]).to.match(/^Health check passed in /);
    expect(Object.keys(byType(await reconcile('Kustomization', 'flux-system', 'unchecked')))).to.deep.equal([
      'Ready',
    ]);
  });

  it('a failed health check: Ready=False and Healthy=False HealthCheckFailed, Reconciling running health checks', async () => {
    seedGitRepository(sim, { name: 'stuck' });
    seedKustomization(sim, { name: 'stuck', wait: true });
    const ready =
      "health check failed after 30.015275112s: timeout waiting for: [Deployment/apps/stuck status: 'InProgress']";
    flux.script('Kustomization', 'flux-system', 'stuck', { type: 'retry', message: ready });
    const obj = sim.get('Kustomization', 'flux-system', 'stuck')!;
    const token = new Date().toISOString();
    sim.update('Kustomization', {
      ...obj,
      metadata: { ...obj.metadata, annotations: { 'reconcile.fluxcd.io/requestedAt': token } },
    });
    const conditions = await eventually(() => {
      const status = sim.get('Kustomization', 'flux-system', 'stuck')!.status as {
        lastHandledReconcileAt?: string;
        conditions: Condition[];
      };
      if (status.lastHandledReconcileAt !== token) throw new Error('not handled yet');
      return byType(status.conditions);
    }, 5000);
    expect(conditions.Ready).to.deep.equal(['False', 'HealthCheckFailed', ready]);
    expect(conditions.Healthy).to.deep.equal([
      'False',
      'HealthCheckFailed',
      "timeout waiting for: [Deployment/apps/stuck status: 'InProgress']",
    ]);
    expect(conditions.Reconciling!.slice(0, 2)).to.deep.equal(['True', 'ProgressingWithRetry']);
    expect(conditions.Reconciling![2]).to.match(/^Running health checks for revision main@sha1:/);
  });

  it("a HelmRelease's upgrade: Released beside Ready, with the same reason and message", async () => {
    seedHelmRelease(sim, { name: 'web', namespace: 'flux-system', chart: 'web', version: '1.x' });
    seedHelmChart(sim, { name: 'flux-system-web', chart: 'web', version: '1.0.0' });
    await reconcile('HelmRelease', 'flux-system', 'web');
    flux.setSourceRevision('HelmChart', 'flux-system', 'flux-system-web', '1.1.0');
    await reconcile('HelmChart', 'flux-system', 'flux-system-web');
    const conditions = byType(await reconcile('HelmRelease', 'flux-system', 'web'));
    expect(Object.keys(conditions)).to.have.members(['Ready', 'Released']);
    expect(conditions.Released).to.deep.equal(conditions.Ready);
    expect(conditions.Ready!.slice(0, 2)).to.deep.equal(['True', 'UpgradeSucceeded']);
    expect(conditions.Ready![2]).to.match(/with chart web@1\.1\.0$/);
  });
});
