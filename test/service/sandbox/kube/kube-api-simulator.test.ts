import { expect } from 'chai';
import { CONFIGMAPS, type KubeApi, type ResourceRef } from '../../../../service/kube/kube-api.js';
import type { ConfigMap } from '../../../../service/kube/objects.js';
import { eventually } from '../../../support/eventually.js';
import { startKubeSandbox, type KubeSandbox } from '../../../support/kube.js';

const KS: ResourceRef = {
  group: 'kustomize.toolkit.fluxcd.io',
  version: 'v1',
  plural: 'kustomizations',
  kind: 'Kustomization',
};
type Obj = { metadata: { generation: number; resourceVersion: string } };

function kustomization(name: string) {
  return {
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name, namespace: 'flux-system' },
    spec: {
      interval: '5m',
      path: './deploy',
      prune: true,
      sourceRef: { kind: 'GitRepository', name: 'podinfo' },
    },
  };
}

async function rawRequest(url: string, init: RequestInit): Promise<{ status: number; body: any }> {
  const res = await fetch(url, init);
  return { status: res.status, body: await res.json() };
}

describe('KubeApiSimulator', () => {
  let sandbox: KubeSandbox;
  let api: KubeApi;

  beforeEach(async () => {
    sandbox = await startKubeSandbox();
    api = sandbox.api;
  });
  afterEach(async () => {
    await api.close();
    await sandbox.sim.stop();
  });

  it('creates and gets a Kustomization with generation 1', async () => {
    await api.create(KS, 'flux-system', kustomization('podinfo'));
    const got = await api.get<Obj>(KS, 'flux-system', 'podinfo');
    expect(got.metadata.generation).to.equal(1);
    expect(got.metadata.resourceVersion).to.be.a('string');
  });

  it('lists the Flux kinds in discovery', async () => {
    const { body } = await rawRequest(`${sandbox.sim.url}/apis/kustomize.toolkit.fluxcd.io/v1`, {});
    expect(body.resources.map((r: { name: string }) => r.name)).to.include.members([
      'kustomizations',
      'kustomizations/status',
    ]);
  });

  it('answers 415 to a strategic merge patch on a custom resource', async () => {
    await api.create(KS, 'flux-system', kustomization('podinfo'));
    const { status, body } = await rawRequest(
      `${sandbox.sim.url}/apis/${KS.group}/v1/namespaces/flux-system/kustomizations/podinfo`,
      {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/strategic-merge-patch+json' },
        body: JSON.stringify({ metadata: { annotations: { a: 'b' } } }),
      },
    );
    expect(status).to.equal(415);
    expect(body.kind).to.equal('Status');
  });

  it('bumps generation on a spec change only', async () => {
    await api.create(KS, 'flux-system', kustomization('podinfo'));
    const annotated = await api.patchMerge<Obj>(KS, 'flux-system', 'podinfo', {
      metadata: { annotations: { x: '1' } },
    });
    expect(annotated.metadata.generation).to.equal(1);
    const changed = await api.patchMerge<Obj>(KS, 'flux-system', 'podinfo', { spec: { path: './other' } });
    expect(changed.metadata.generation).to.equal(2);
    expect(Number(changed.metadata.resourceVersion)).to.be.greaterThan(
      Number(annotated.metadata.resourceVersion),
    );
  });

  it('rejects a write that violates the CRD schema with 422', async () => {
    const bad = kustomization('bad') as any;
    delete bad.spec.sourceRef;
    const { status, body } = await rawRequest(
      `${sandbox.sim.url}/apis/${KS.group}/v1/namespaces/flux-system/kustomizations`,
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(bad),
      },
    );
    expect(status).to.equal(422);
    expect(body.message).to.match(/sourceRef/);
  });

  it('answers 409 to a ConfigMap update with a stale resourceVersion', async () => {
    const created = await api.create<ConfigMap>(CONFIGMAPS, 'keptn', {
      metadata: { name: 'rec' },
      data: { a: '1' },
    });
    await api.replace(CONFIGMAPS, 'keptn', 'rec', { ...created, data: { a: '2' } });
    const err: any = await api
      .replace(CONFIGMAPS, 'keptn', 'rec', { ...created, data: { a: '3' } })
      .catch((e: any) => e);
    expect(err.status).to.equal(409);
    expect(err.kind).to.equal('conflict');
  });

  it('enforces RBAC rules with a 403 naming verb, resource and namespace', async () => {
    await api.create(KS, 'flux-system', kustomization('podinfo'));
    sandbox.sim.setRbac([{ group: KS.group, resource: 'kustomizations', verbs: ['get'] }]);
    await api.get(KS, 'flux-system', 'podinfo');
    const err: any = await api.patchMerge(KS, 'flux-system', 'podinfo', {}).catch((e: any) => e);
    expect(err.status).to.equal(403);
    expect(err.message).to.contain('cannot patch resource "kustomizations"').and.contain('flux-system');
  });

  it('sends ERROR 410 on a watch from a compacted resourceVersion', async () => {
    await api.create(KS, 'flux-system', kustomization('podinfo'));
    sandbox.sim.store.compact();
    const res = await fetch(
      `${sandbox.sim.url}/apis/${KS.group}/v1/namespaces/flux-system/kustomizations?watch=true&resourceVersion=1`,
    );
    const line = JSON.parse((await res.text()).trim());
    expect(line.type).to.equal('ERROR');
    expect(line.object.code).to.equal(410);
  });

  it('injects faults on matching requests and logs every request', async () => {
    sandbox.sim.failNext({ status: 503, match: { verb: 'get', resource: 'kustomizations' } });
    const err: any = await api.get(KS, 'flux-system', 'podinfo').catch((e: any) => e);
    expect(err.status).to.equal(503);
    const err2: any = await api.get(KS, 'flux-system', 'podinfo').catch((e: any) => e);
    expect(err2.status).to.equal(404);
    expect(sandbox.sim.requestCount({ verb: 'get', resource: 'kustomizations' })).to.equal(2);
  });

  it('carries out a write whose answer is lost (applied-timeout): the object exists, the request is never answered', async () => {
    sandbox.sim.failNext({
      status: 'applied-timeout',
      match: { verb: 'create', resource: 'kustomizations' },
    });
    const request = fetch(`${sandbox.sim.url}/apis/${KS.group}/v1/namespaces/flux-system/kustomizations`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(kustomization('podinfo')),
    }).then(
      () => 'answered',
      () => 'lost',
    );
    await eventually(() =>
      expect(sandbox.sim.get('Kustomization', 'flux-system', 'podinfo')?.metadata?.name, 'created').to.equal(
        'podinfo',
      ),
    );
    await sandbox.sim.stop();
    expect(await request, 'never answered: the connection is cut when the simulator stops').to.equal('lost');
  });
});
