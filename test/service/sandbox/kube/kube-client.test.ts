import { expect } from 'chai';
import { Registry } from 'prom-client';
import { silentLogger } from '../../../../lib/log.js';
import { createServiceMetrics } from '../../../../service/metrics.js';
import { KubeClient, type ResourceRef } from '../../../../service/kube/kube-client.js';
import { KubeApiError } from '../../../../service/kube/kube-errors.js';
import { startKubeSandbox, type KubeSandbox } from '../../../support/kube.js';

const KS: ResourceRef = {
  group: 'kustomize.toolkit.fluxcd.io',
  version: 'v1',
  plural: 'kustomizations',
  kind: 'Kustomization',
};

describe('KubeClient against the simulator', () => {
  let sandbox: KubeSandbox;
  let registry: Registry;
  let client: KubeClient;

  beforeEach(async () => {
    sandbox = await startKubeSandbox();
    registry = new Registry();
    client = new KubeClient({
      kube: sandbox.api,
      logger: silentLogger,
      metrics: createServiceMetrics(registry),
      tool: 'flux',
      retry: { initialMs: 5, maxMs: 20 },
      requestTimeoutMs: 300,
    });
    sandbox.sim.create('Kustomization', {
      metadata: { name: 'podinfo', namespace: 'flux-system' },
      spec: {
        interval: '5m',
        path: './',
        prune: true,
        sourceRef: { kind: 'GitRepository', name: 'podinfo' },
      },
    });
  });
  afterEach(async () => {
    await sandbox.sim.stop();
  });

  async function metric(name: string): Promise<number> {
    const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
    return (m?.values ?? []).reduce((sum, v) => sum + Number(v.value), 0);
  }

  it('merge-patches annotations (not JSON-patch)', async () => {
    const obj = await client.patchMerge<any>(KS, 'flux-system', 'podinfo', {
      metadata: { annotations: { a: 'b' } },
    });
    expect(obj.metadata.annotations).to.deep.equal({ a: 'b' });
    expect(sandbox.sim.requests.at(-1)).to.include({ verb: 'patch', resource: 'kustomizations' });
  });

  it('maps 404 to a not-found KubeApiError naming the object', async () => {
    const err: any = await client.get(KS, 'flux-system', 'missing').catch((e: any) => e);
    expect(err).to.be.instanceOf(KubeApiError);
    expect(err.kind).to.equal('not-found');
    expect(err.transient).to.equal(false);
    expect(err.message).to.contain(
      'kustomizations.kustomize.toolkit.fluxcd.io "missing" in namespace flux-system',
    );
  });

  it('retries 503, resets and timeouts until it succeeds, counting each retry', async () => {
    sandbox.sim.failNext({ status: 503 });
    sandbox.sim.failNext({ status: 'reset' });
    sandbox.sim.failNext({ status: 'timeout' });
    const obj = await client.get<any>(KS, 'flux-system', 'podinfo');
    expect(obj.metadata.name).to.equal('podinfo');
    expect(await metric('gitops_api_retries_total')).to.equal(3);
    expect(await metric('gitops_api_requests_total')).to.equal(4);
  });

  it('gives up on transient errors at the deadline', async () => {
    sandbox.sim.failNext({ status: 503, count: 1000 });
    const err: any = await client
      .get(KS, 'flux-system', 'podinfo', { deadline: Date.now() + 100 })
      .catch((e: any) => e);
    expect(err.kind).to.equal('server');
    expect(err.status).to.equal(503);
  });

  it('maps 403 to forbidden with the verb and resource', async () => {
    sandbox.sim.setRbac([]);
    const err: any = await client.get(KS, 'flux-system', 'podinfo').catch((e: any) => e);
    expect(err.kind).to.equal('forbidden');
    expect(err.message).to.match(/^get kustomizations/);
  });
});
