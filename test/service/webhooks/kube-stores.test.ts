import { expect } from 'chai';
import { KubeApi } from '../../../service/kube/kube-api.js';
import { loadKubeConfig } from '../../../service/kube/kube-config.js';
import { ConfigMapSeenRevisions } from '../../../service/state/configmap-seen-revisions.js';
import { SEEN_HISTORY } from '../../../service/state/seen-revisions.js';
import { KubeFluxSourceLookup } from '../../../service/webhooks/flux-sources.js';
import { readFixture } from '../../support/paths.js';
import { startKubeSandbox, sandboxKubeApi, type KubeSandbox } from '../../support/kube.js';
import { freePort } from '../../support/ports.js';
import { Harness, NEW_SHA, outOfSync, argoBody } from './harness.js';

const SHA = '363a6a8fe6a7f13e05d34c163b0ef02a777da20a';

describe('seen revisions and Flux sources in the cluster', () => {
  let kube: KubeSandbox;
  beforeEach(async () => {
    kube = await startKubeSandbox();
  });
  afterEach(() => kube.sim.stop());

  const store = () =>
    new ConfigMapSeenRevisions({ kube: kube.api, namespace: 'keptn', integrationName: 'gitops-service' });

  describe('ConfigMapSeenRevisions', () => {
    it('creates <integration-name>-seen-revisions and reports a revision new only once', async () => {
      const seen = store();
      expect(await seen.markIfNew('flux.Kustomization_flux-system_podinfo.abc', `main@sha1:${SHA}`)).to.equal(
        true,
      );
      expect(await seen.markIfNew('flux.Kustomization_flux-system_podinfo.abc', `main@sha1:${SHA}`)).to.equal(
        false,
      );
      expect(await seen.markIfNew('flux.Kustomization_flux-system_podinfo.abc', `main/${SHA}`)).to.equal(
        false,
      );
      const cm = kube.sim.get('ConfigMap', 'keptn', 'gitops-service-seen-revisions') as unknown;
      expect((cm as { data: Record<string, string> }).data).to.deep.equal({
        'flux.Kustomization_flux-system_podinfo.abc': `main@sha1:${SHA}`,
      });
    });

    it('keeps what another replica wrote (re-reads on 409 and retries)', async () => {
      const a = store();
      const b = store();
      expect(await a.markIfNew('one', 'r1')).to.equal(true);
      kube.sim.failNext({ status: 409, match: { verb: 'update', resource: 'configmaps' } });
      expect(await b.markIfNew('two', 'r2')).to.equal(true);
      expect(kube.sim.requestCount({ verb: 'update', resource: 'configmaps' })).to.equal(2);
      expect(await a.has!('two', 'r2')).to.equal(true);
      expect(await b.has!('one', 'r1')).to.equal(true);
    });

    it('records a revision through transient API faults (503 on the create, 429 and a reset on the update, 500 on a read)', async () => {
      const seen = new ConfigMapSeenRevisions({
        kube: kube.api,
        namespace: 'keptn',
        integrationName: 'gitops-service',
        retry: { initialMs: 10, maxMs: 20 },
      });
      kube.sim.failNext({ status: 503, match: { verb: 'create', resource: 'configmaps' } });
      expect(await seen.markIfNew('one', 'r1')).to.equal(true);
      kube.sim.failNext({ status: 429, match: { verb: 'update', resource: 'configmaps' } });
      kube.sim.failNext({ status: 'reset', match: { verb: 'update', resource: 'configmaps' } });
      kube.sim.failNext({ status: 500, match: { verb: 'get', resource: 'configmaps' } });
      expect(await seen.markIfNew('two', 'r2')).to.equal(true);
      expect(await store().markIfNew('one', 'r1'), 'seen once recorded').to.equal(false);
      expect(await store().markIfNew('two', 'r2'), 'seen once recorded').to.equal(false);
    });

    it('reports a revision new when its write was carried out but the answer was lost (the retry gets 409)', async () => {
      const api = new KubeApi(loadKubeConfig(kube.kubeconfigPath), { requestTimeoutMs: 300 });
      const seen = new ConfigMapSeenRevisions({
        kube: api,
        namespace: 'keptn',
        integrationName: 'gitops-service',
        retry: { initialMs: 10, maxMs: 20 },
      });
      kube.sim.failNext({ status: 'applied-timeout', match: { verb: 'create', resource: 'configmaps' } });
      expect(await seen.markIfNew('one', 'r1'), 'its create, retried').to.equal(true);
      kube.sim.failNext({ status: 'applied-timeout', match: { verb: 'update', resource: 'configmaps' } });
      expect(await seen.markIfNew('two', 'r2'), 'its update, retried').to.equal(true);
      expect(await store().markIfNew('two', 'r2'), 'another replica').to.equal(false);
      await api.close();
    });

    it('lets concurrent writers each record their key', async () => {
      const seen = [store(), store(), store(), store()];
      await Promise.all(seen.map((s, i) => s.markIfNew(`key-${i}`, `rev-${i}`)));
      const data = (
        kube.sim.get('ConfigMap', 'keptn', 'gitops-service-seen-revisions') as unknown as {
          data: Record<string, string>;
        }
      ).data;
      expect(Object.keys(data).sort()).to.deep.equal(['key-0', 'key-1', 'key-2', 'key-3']);
    });

    it('never reports a revision new again that is in its bounded history: A, B, then A again (a replay, or a late notification)', async () => {
      const seen = store();
      const key = 'flux.Kustomization_flux-system_podinfo.abc';
      const a = `main@sha1:${SHA}`;
      const b = `main@sha1:${'b'.repeat(40)}`;
      expect(await seen.markIfNew(key, a)).to.equal(true);
      expect(await seen.markIfNew(key, b)).to.equal(true);
      expect(await store().markIfNew(key, a), 'A again, after B').to.equal(false);
      expect(await store().markIfNew(key, `main/${SHA}`), 'A in the legacy spelling').to.equal(false);
      for (let i = 0; i < SEEN_HISTORY; i++) await seen.markIfNew(key, `r-${i}`);
      expect(await seen.markIfNew(key, a), 'dropped once older than the bounded history').to.equal(true);
      const data = (
        kube.sim.get('ConfigMap', 'keptn', 'gitops-service-seen-revisions') as unknown as {
          data: Record<string, string>;
        }
      ).data;
      expect(data[key]!.split('\n')).to.have.length(SEEN_HISTORY);
    });

    it('forgets a revision', async () => {
      const seen = store();
      await seen.markIfNew('k', 'r');
      await seen.forget!('k', 'r');
      expect(await seen.markIfNew('k', 'r')).to.equal(true);
    });

    it('fails with the ConfigMap name when the API cannot be reached', async () => {
      const seen = new ConfigMapSeenRevisions({
        kube: sandboxKubeApi(`http://127.0.0.1:${await freePort()}`),
        namespace: 'keptn',
        integrationName: 'gitops-service',
        retry: { initialMs: 10, maxMs: 20 },
        callTimeoutMs: 200,
      });
      const err = await seen.markIfNew('k', 'r').then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.name).to.equal('SeenRevisionsError');
      expect(err?.message).to.include('keptn/gitops-service-seen-revisions');
    });

    it('does not start a sequence again after a service restart', async () => {
      let h = await Harness.start({ seen: store() });
      await h.postArgo(argoBody(outOfSync(NEW_SHA)));
      await h.handler.idle();
      expect(h.started).to.have.length(1);
      await h.close();
      h = await Harness.start({ seen: store() });
      try {
        expect((await h.postArgo(argoBody(outOfSync(NEW_SHA)))).status).to.equal(202);
        await h.handler.idle();
        expect(h.started).to.have.length(0);
      } finally {
        await h.close();
      }
    });
  });

  describe('KubeFluxSourceLookup', () => {
    it('finds the GitRepository a Kustomization uses, the namespace defaulting to its own', async () => {
      const k = readFixture<any>('gitops', 'flux-kustomization-with-status.json');
      delete k.status;
      kube.sim.create('Kustomization', k);
      const lookup = new KubeFluxSourceLookup({ kube: kube.api });
      const target = { kind: 'Kustomization', name: 'podinfo', namespace: 'flux-system' };
      expect(
        await lookup.usesSource(target, { kind: 'GitRepository', name: 'podinfo', namespace: 'flux-system' }),
      ).to.equal(true);
      expect(
        await lookup.usesSource(target, { kind: 'GitRepository', name: 'podinfo', namespace: 'default' }),
      ).to.equal(false);
      expect(
        await lookup.usesSource(target, { kind: 'OCIRepository', name: 'podinfo', namespace: 'flux-system' }),
      ).to.equal(false);
    });

    it('finds the generated HelmChart of a HelmRelease (not the chart source) and a chartRef', async () => {
      const hr = readFixture<any>('gitops', 'flux-helmrelease-with-status.json');
      delete hr.status;
      kube.sim.create('HelmRelease', hr);
      kube.sim.create('HelmRelease', {
        apiVersion: 'helm.toolkit.fluxcd.io/v2',
        kind: 'HelmRelease',
        metadata: { name: 'oci-app', namespace: 'apps' },
        spec: { interval: '5m', chartRef: { kind: 'OCIRepository', name: 'oci-app' } },
      });
      const lookup = new KubeFluxSourceLookup({ kube: kube.api });
      const podinfo = { kind: 'HelmRelease', name: 'podinfo', namespace: 'default' };
      // An index update reaches the release only as a new HelmChart artifact.
      expect(
        await lookup.usesSource(podinfo, {
          kind: 'HelmRepository',
          name: 'podinfo',
          namespace: 'flux-system',
        }),
      ).to.equal(false);
      expect(
        await lookup.usesSource(podinfo, {
          kind: 'HelmChart',
          name: 'default-podinfo',
          namespace: 'flux-system',
        }),
      ).to.equal(true);
      const ociApp = { kind: 'HelmRelease', name: 'oci-app', namespace: 'apps' };
      expect(
        await lookup.usesSource(ociApp, { kind: 'OCIRepository', name: 'oci-app', namespace: 'apps' }),
      ).to.equal(true);
    });

    it('reads each object once while its sources are cached', async () => {
      const k = readFixture<any>('gitops', 'flux-kustomization-with-status.json');
      delete k.status;
      kube.sim.create('Kustomization', k);
      const lookup = new KubeFluxSourceLookup({ kube: kube.api });
      const target = { kind: 'Kustomization', name: 'podinfo', namespace: 'flux-system' };
      const source = { kind: 'GitRepository', name: 'podinfo', namespace: 'flux-system' };
      await lookup.usesSource(target, source);
      await lookup.usesSource(target, source);
      expect(kube.sim.requestCount({ verb: 'get', resource: 'kustomizations' })).to.equal(1);
    });

    it('reads through transient API faults (a 503, then a reset)', async () => {
      const k = readFixture<any>('gitops', 'flux-kustomization-with-status.json');
      kube.sim.create('Kustomization', k);
      kube.sim.failNext({ status: 503, match: { verb: 'get', resource: 'kustomizations' } });
      kube.sim.failNext({ status: 'reset', match: { verb: 'get', resource: 'kustomizations' } });
      const lookup = new KubeFluxSourceLookup({ kube: kube.api, retry: { initialMs: 10, maxMs: 20 } });
      const target = { kind: 'Kustomization', name: 'podinfo', namespace: 'flux-system' };
      expect(
        await lookup.usesSource(target, { kind: 'GitRepository', name: 'podinfo', namespace: 'flux-system' }),
      ).to.equal(true);
      expect(kube.sim.requestCount({ verb: 'get', resource: 'kustomizations' })).to.equal(3);
    });

    it('answers false for a target that does not exist', async () => {
      const lookup = new KubeFluxSourceLookup({ kube: kube.api });
      const target = { kind: 'Kustomization', name: 'missing', namespace: 'flux-system' };
      expect(
        await lookup.usesSource(target, { kind: 'GitRepository', name: 'x', namespace: 'flux-system' }),
      ).to.equal(false);
    });

    const newArtifact = {
      involvedObject: { kind: 'GitRepository', name: 'podinfo', namespace: 'flux-system' },
      severity: 'info',
      reason: 'NewArtifact',
      message: "stored artifact for commit 'x'",
      metadata: { revision: `main@sha1:${SHA}` },
      reportingController: 'source-controller',
      timestamp: '2024-01-01T00:00:00Z',
    };

    it('handles an accepted notification although the API failed on the first attempts', async () => {
      kube.sim.create('Kustomization', readFixture<any>('gitops', 'flux-kustomization-with-status.json'));
      kube.sim.failNext({ status: 503, count: 2, match: { resource: 'configmaps' } });
      const h = await Harness.start({ sources: new KubeFluxSourceLookup({ kube: kube.api }), seen: store() });
      try {
        expect((await h.postFlux(newArtifact)).status).to.equal(202);
        await h.handler.idle();
        expect(h.started.map((t) => t.type)).to.deep.equal(['sh.keptn.event.dev.delivery.triggered']);
        expect(await h.count('gitops_notifications_failed_total', { tool: 'flux' })).to.equal(0);
      } finally {
        await h.close();
      }
    });

    it('counts a notification it could not handle after every attempt, and starts nothing', async () => {
      kube.sim.create('Kustomization', readFixture<any>('gitops', 'flux-kustomization-with-status.json'));
      kube.sim.failNext({ status: 503, count: 1000, match: { resource: 'configmaps' } });
      // Each of the handler's 3 attempts retries its read until the store's deadline.
      const seen = new ConfigMapSeenRevisions({
        kube: kube.api,
        namespace: 'keptn',
        integrationName: 'gitops-service',
        retry: { initialMs: 10, maxMs: 20 },
        callTimeoutMs: 100,
      });
      const h = await Harness.start({ sources: new KubeFluxSourceLookup({ kube: kube.api }), seen });
      try {
        expect((await h.postFlux(newArtifact)).status).to.equal(202);
        await h.handler.idle();
        expect(h.started).to.deep.equal([]);
        expect(await h.count('gitops_notifications_failed_total', { tool: 'flux' })).to.equal(1);
        expect(kube.sim.requestCount({ resource: 'configmaps' })).to.be.above(3);
        expect(kube.sim.requestCount({ resource: 'configmaps', verb: 'update' })).to.equal(0);
      } finally {
        await h.close();
      }
    });

    it('starts the Kustomization sequence for a NewArtifact through the real lookup', async () => {
      const k = readFixture<any>('gitops', 'flux-kustomization-with-status.json');
      delete k.status;
      kube.sim.create('Kustomization', k);
      const h = await Harness.start({ sources: new KubeFluxSourceLookup({ kube: kube.api }), seen: store() });
      try {
        expect((await h.postFlux(newArtifact)).status).to.equal(202);
        await h.handler.idle();
        expect(h.started.map((t) => t.type)).to.deep.equal(['sh.keptn.event.dev.delivery.triggered']);
      } finally {
        await h.close();
      }
    });
  });
});
