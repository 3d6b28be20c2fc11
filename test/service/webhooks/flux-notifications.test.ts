import { expect } from 'chai';
import { StaticFluxSourceLookup } from '../../../service/webhooks/flux-sources.js';
import { validateSequenceTrigger } from '../../../service/webhooks/sequence-trigger.js';
import { readFixture } from '../../support/paths.js';
import { FLUX_TOKEN, Harness } from './harness.js';

const SHA = '363a6a8fe6a7f13e05d34c163b0ef02a777da20a';
const KUSTOMIZATION = 'Kustomization/flux-system/podinfo';

type Event = Record<string, any>;

/** The docs' sample event, reshaped into another event; `prefixed` keeps the old `<group>/revision` key. */
function event(change: (e: Event) => void, metadataKey = 'revision'): Event {
  const e = readFixture<Event>('gitops', 'flux-generic-webhook-event.json');
  const legacyRevision = e.metadata['kustomize.toolkit.fluxcd.io/revision'];
  e.metadata = { [metadataKey]: legacyRevision };
  change(e);
  return e;
}

function newArtifact(revision: string, prefixed = false): Event {
  return event(
    (e) => {
      e.involvedObject = {
        apiVersion: 'source.toolkit.fluxcd.io/v1',
        kind: 'GitRepository',
        name: 'podinfo',
        namespace: 'flux-system',
      };
      e.severity = 'info';
      e.reason = 'NewArtifact';
      e.message = "stored artifact for commit 'Update podinfo'";
      e.reportingController = 'source-controller';
      e.metadata[Object.keys(e.metadata)[0]!] = revision;
    },
    prefixed ? 'source.toolkit.fluxcd.io/revision' : 'revision',
  );
}

function kustomizationEvent(revision: string, reason: string, message: string, prefixed = false): Event {
  return event(
    (e) => {
      e.involvedObject = {
        apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
        kind: 'Kustomization',
        name: 'podinfo',
        namespace: 'flux-system',
      };
      e.severity = 'info';
      e.reason = reason;
      e.message = message;
      e.metadata[Object.keys(e.metadata)[0]!] = revision;
    },
    prefixed ? 'kustomize.toolkit.fluxcd.io/revision' : 'revision',
  );
}

const CHANGE_SET = 'Deployment/default/podinfo configured\nService/default/podinfo configured';
const PERIODIC = 'Reconciliation finished in 1.2s, next run in 5m0s';

describe('Flux notifications', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await Harness.start();
  });
  afterEach(() => h.close());

  async function post(body: unknown): Promise<void> {
    const res = await h.postFlux(body);
    expect(res.status).to.equal(202);
    await h.handler.idle();
  }

  it('starts the sequence of the Kustomization that uses the source of a NewArtifact', async () => {
    await post(newArtifact(`master@sha1:${SHA}`));
    expect(h.started).to.have.length(1);
    const [trigger] = h.started;
    expect(trigger!.type).to.equal('sh.keptn.event.dev.delivery.triggered');
    expect(trigger!.data).to.deep.equal({
      project: 'demo',
      stage: 'dev',
      service: 'podinfo',
      labels: {},
      gitops: { tool: 'flux', target: KUSTOMIZATION, revision: `master@sha1:${SHA}`, stage: 'dev' },
    });
    expect(() => validateSequenceTrigger(trigger!)).not.to.throw();
    expect(await h.count('gitops_sequences_triggered_total', { tool: 'flux' })).to.equal(1);
  });

  it('reads the prefixed metadata key of older notification-controllers', async () => {
    await post(newArtifact(`main/${SHA}`, true));
    expect(h.started).to.have.length(1);
    expect((h.started[0]!.data.gitops as { revision: string }).revision).to.equal(`main/${SHA}`);
  });

  it('treats the legacy main/<sha> and main@sha1:<sha> spellings of one commit as the same revision', async () => {
    await post(newArtifact(`main/${SHA}`, true));
    await post(newArtifact(`main@sha1:${SHA}`));
    expect(h.started).to.have.length(1);
  });

  it('starts the sequence once across repeated NewArtifact events', async () => {
    await post(newArtifact(`master@sha1:${SHA}`));
    await post(newArtifact(`master@sha1:${SHA}`));
    expect(h.started).to.have.length(1);
  });

  it('does not start a sequence again when the Kustomization then applies that revision, nor on its periodic successes', async () => {
    await post(newArtifact(`master@sha1:${SHA}`));
    await post(kustomizationEvent(`master@sha1:${SHA}`, 'Progressing', CHANGE_SET));
    await post(kustomizationEvent(`master@sha1:${SHA}`, 'ReconciliationSucceeded', PERIODIC));
    await post(kustomizationEvent(`master@sha1:${SHA}`, 'ReconciliationSucceeded', PERIODIC));
    expect(h.started).to.have.length(1);
    expect(await h.count('gitops_drift_total', { tool: 'flux' })).to.equal(0);
  });

  it('ignores a NewArtifact of a source no onChange target uses', async () => {
    const e = newArtifact(`master@sha1:${SHA}`);
    e.involvedObject.name = 'other-repo';
    await post(e);
    expect(h.started).to.have.length(0);
  });

  it('starts the HelmRelease target sequence for a new chart version of its generated HelmChart', async () => {
    const e = newArtifact('6.3.6');
    e.involvedObject = { kind: 'HelmChart', name: 'default-podinfo', namespace: 'flux-system' };
    await post(e);
    expect(h.started).to.have.length(1);
    expect(h.started[0]!.type).to.equal('sh.keptn.event.hardening.artifact-delivery.triggered');
    expect((h.started[0]!.data.gitops as { target: string }).target).to.equal('HelmRelease/default/podinfo');
  });

  it('starts the sequence of a HelmRelease with its chart in Git for the new HelmChart, not for the commit', async () => {
    await h.close();
    // podinfo's chart comes from the GitRepository `charts`; the Kustomization uses another repository.
    const release = {
      kind: 'HelmRelease',
      metadata: { name: 'podinfo', namespace: 'default' },
      spec: {
        chart: {
          spec: {
            chart: './charts/podinfo',
            sourceRef: { kind: 'GitRepository', name: 'charts', namespace: 'flux-system' },
          },
        },
      },
    };
    h = await Harness.start({ sources: new StaticFluxSourceLookup({ objects: [release] }) });
    const commit = newArtifact(`main@sha1:${SHA}`);
    commit.involvedObject.name = 'charts';
    await post(commit);
    expect(h.started, 'a commit is not what the release deploys').to.have.length(0);
    const chart = newArtifact('6.3.6');
    chart.involvedObject = { kind: 'HelmChart', name: 'default-podinfo', namespace: 'flux-system' };
    await post(chart);
    expect(h.started.map((t) => t.data.gitops as { target: string; revision: string })).to.deep.equal([
      { tool: 'flux', target: 'HelmRelease/default/podinfo', revision: '6.3.6', stage: 'hardening' },
    ]);
  });

  it('starts the sequence for an applied revision the service did not ask for', async () => {
    await post(kustomizationEvent(`main/${SHA}`, 'Progressing', CHANGE_SET, true));
    expect(h.started).to.have.length(1);
    expect((h.started[0]!.data.gitops as { revision: string }).revision).to.equal(`main/${SHA}`);
  });

  it('counts a drift correction at a revision already applied and starts nothing', async () => {
    await post(kustomizationEvent(`main@sha1:${SHA}`, 'ReconciliationSucceeded', PERIODIC));
    expect(h.started).to.have.length(1);
    await post(
      kustomizationEvent(`main@sha1:${SHA}`, 'Progressing', 'Deployment/default/podinfo configured'),
    );
    expect(h.started).to.have.length(1);
    expect(await h.count('gitops_drift_total', { tool: 'flux' })).to.equal(1);
  });

  it('counts drift for an object without onChange target too', async () => {
    const e = (r: string) => {
      const k = kustomizationEvent(r, 'Progressing', CHANGE_SET);
      k.involvedObject.name = 'infrastructure';
      return k;
    };
    await post(e(`main@sha1:${SHA}`));
    await post(e(`main@sha1:${SHA}`));
    expect(h.started).to.have.length(0);
    expect(await h.count('gitops_drift_total', { tool: 'flux' })).to.equal(1);
  });

  it('wakes the follower of a delivered Kustomization and starts nothing, not even later at that revision', async () => {
    h.following.add(`flux ${KUSTOMIZATION}`);
    await post(kustomizationEvent(`main@sha1:${SHA}`, 'Progressing', CHANGE_SET));
    expect(h.woken).to.deep.equal([{ tool: 'flux', target: KUSTOMIZATION }]);
    expect(h.started).to.have.length(0);
    h.following.clear();
    await post(kustomizationEvent(`main@sha1:${SHA}`, 'ReconciliationSucceeded', PERIODIC));
    expect(h.started).to.have.length(0);
  });

  it('wakes the follower on a failure event too', async () => {
    h.following.add(`flux ${KUSTOMIZATION}`);
    const failed = kustomizationEvent(`main@sha1:${SHA}`, 'HealthCheckFailed', 'health check failed');
    failed.severity = 'error';
    await post(failed);
    expect(h.woken).to.have.length(1);
    expect(h.started).to.have.length(0);
  });

  it('ignores error events of objects nobody follows (the docs sample)', async () => {
    await post(readFixture('gitops', 'flux-generic-webhook-event.json'));
    expect(h.started).to.have.length(0);
    expect(h.woken).to.have.length(0);
  });

  it('handles an event sent with the generic provider Bearer header like a signed one', async () => {
    const res = await h.postFlux(newArtifact(`master@sha1:${SHA}`), { token: FLUX_TOKEN });
    expect(res.status).to.equal(202);
    await h.handler.idle();
    expect(h.started).to.have.length(1);
  });
});
