import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import type { KeptnEvent } from '../../lib/index.js';
import {
  E2E_ARGOCD_WEBHOOK_TOKEN as ARGO_WEBHOOK_TOKEN,
  E2E_FLUX_HMAC_KEY as FLUX_HMAC_KEY,
  E2eSandbox,
  metricsText,
  metricValue,
  type RunningService,
} from '../support/e2e-harness.js';
import { eventually } from '../support/eventually.js';
import { readFixture } from '../support/paths.js';
import { NEW_SHA, outOfSync } from '../service/webhooks/harness.js';

const FLUX_REVISION = 'main@sha1:1111111111111111111111111111111111111111';

/** The pull direction through the running service: notifications in, sequence triggers on the bus. */
describe('e2e: GitOps notifications start Keptn sequences', function () {
  this.timeout(60_000);
  let sandbox: E2eSandbox;
  let service: RunningService;

  before(async () => {
    sandbox = await E2eSandbox.start();
    sandbox.seedPodinfo();
    sandbox.writeTargets(`webhooks:
  argocdTokenEnv: ARGOCD_WEBHOOK_TOKEN
  fluxHmacKeyEnv: FLUX_WEBHOOK_HMAC_KEY
targets:
  - match: {project: shop, stage: dev, service: guestbook}
    argocd: {application: guestbook}
    onChange: {sequence: delivery}
  - match: {project: pod, stage: dev, service: podinfo}
    flux: {kind: Kustomization, name: podinfo, namespace: flux-system}
    onChange: {sequence: delivery}
`);
    service = await sandbox.startService({
      ARGOCD_WEBHOOK_TOKEN: ARGO_WEBHOOK_TOKEN,
      FLUX_WEBHOOK_HMAC_KEY: FLUX_HMAC_KEY,
    });
  });

  after(async () => {
    await sandbox?.stop();
  });

  const sequences = (project: string): KeptnEvent[] =>
    sandbox.controlPlane
      .events({ type: 'sh.keptn.event.dev.delivery.triggered' })
      .filter((e) => e.data.project === project);

  it('starts dev.delivery once for an Argo CD application OutOfSync on a new revision, however often it is notified', async () => {
    const argocd = async (outcome: string) =>
      metricValue(
        await metricsText(service),
        `gitops_notifications_total{tool="argocd",outcome="${outcome}"}`,
      );
    const [changesBefore, driftBefore] = [await argocd('change'), await argocd('drift')];
    const body = JSON.stringify({ instance: 'default', trigger: 'on-out-of-sync', app: outOfSync(NEW_SHA) });
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`http://127.0.0.1:${service.webhookPort}/webhooks/argocd`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ARGO_WEBHOOK_TOKEN}`, 'content-type': 'application/json' },
        body,
      });
      expect(res.status).to.equal(202);
    }
    const [trigger] = await eventually(() => {
      const found = sequences('shop');
      expect(found).to.have.length(1);
      return found;
    });
    expect(trigger!.data).to.deep.include({
      project: 'shop',
      stage: 'dev',
      service: 'guestbook',
      labels: {},
    });
    expect(trigger!.data.gitops).to.include({ tool: 'argocd', revision: NEW_SHA, stage: 'dev' });
    expect(trigger!.shkeptncontext).to.be.a('string').and.not.empty;
    // Both notifications handled: the second one as drift (a revision already seen).
    await eventually(async () => expect(await argocd('drift')).to.equal(driftBefore + 1));
    expect(await argocd('change')).to.equal(changesBefore + 1);
    expect(sequences('shop'), 'no second sequence for the same revision').to.have.length(1);
  });

  it('starts dev.delivery for a Flux NewArtifact of the source a mapped Kustomization uses', async () => {
    const event = readFixture<Record<string, any>>('gitops', 'flux-generic-webhook-event.json');
    event.involvedObject = {
      kind: 'GitRepository',
      namespace: 'flux-system',
      name: 'podinfo',
      apiVersion: 'source.toolkit.fluxcd.io/v1',
    };
    event.reason = 'NewArtifact';
    event.metadata = { revision: FLUX_REVISION };
    const body = JSON.stringify(event);
    const res = await fetch(`http://127.0.0.1:${service.webhookPort}/webhooks/flux`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-signature': `sha256=${createHmac('sha256', FLUX_HMAC_KEY).update(body).digest('hex')}`,
      },
      body,
    });
    expect(res.status).to.equal(202);
    const [trigger] = await eventually(() => {
      const found = sequences('pod');
      expect(found).to.have.length(1);
      return found;
    });
    expect(trigger!.data.gitops).to.include({
      tool: 'flux',
      target: 'Kustomization/flux-system/podinfo',
      revision: FLUX_REVISION,
      stage: 'dev',
    });
  });

  it('answers 401 to a wrong token and starts nothing', async () => {
    const before = sequences('shop').length;
    const res = await fetch(`http://127.0.0.1:${service.webhookPort}/webhooks/argocd`, {
      method: 'POST',
      headers: { authorization: 'Bearer nope' },
      body: '{}',
    });
    expect(res.status).to.equal(401);
    expect(sequences('shop')).to.have.length(before);
  });

  it('tries a notification it cannot handle 4 times, as shipped, then counts it as failed and starts nothing', async () => {
    const seenRevisions = { resource: 'configmaps', name: 'gitops-service-seen-revisions' };
    sandbox.kube.failNext({ status: 403, count: 1000, match: seenRevisions });
    const readsBefore = sandbox.kube.requestCount(seenRevisions);
    const before = sequences('shop').length;
    const body = JSON.stringify({
      instance: 'default',
      trigger: 'on-out-of-sync',
      app: outOfSync('5f0c1d2e3b4a59687766554433221100ffeeddcc'),
    });
    const res = await fetch(`http://127.0.0.1:${service.webhookPort}/webhooks/argocd`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ARGO_WEBHOOK_TOKEN}`, 'content-type': 'application/json' },
      body,
    });
    expect(res.status).to.equal(202);
    try {
      await eventually(
        async () =>
          expect(
            metricValue(await metricsText(service), 'gitops_notifications_failed_total{tool="argocd"}'),
          ).to.equal(1),
        20_000,
        100,
      );
      expect(
        sandbox.kube.requestCount(seenRevisions) - readsBefore,
        'one read of the seen revisions per attempt',
      ).to.equal(4);
    } finally {
      sandbox.kube.clearFaults();
    }
    expect(sequences('shop')).to.have.length(before);
  });
});
