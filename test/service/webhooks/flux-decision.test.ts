import { expect } from 'chai';
import { StaticFluxSourceLookup } from '../../../service/webhooks/flux-sources.js';
import { readFixture } from '../../support/paths.js';
import { Harness } from './harness.js';

const SHA = '363a6a8fe6a7f13e05d34c163b0ef02a777da20a';
const REVISION = `main@sha1:${SHA}`;
const KUSTOMIZATION = 'Kustomization/flux-system/podinfo';
const CHANGE_SET = 'Deployment/default/podinfo configured\nService/default/podinfo configured';
const PERIODIC = 'Reconciliation finished in 1.2s, next run in 5m0s';

type Event = Record<string, any>;
type Outcome = 'change' | 'duplicate' | 'drift' | 'completion' | 'ignored';

/** A Flux event about `kind/namespace/name`, built on the docs' sample. */
function fluxEvent(
  object: { kind: string; name: string; namespace?: string },
  fields: Partial<Event> = {},
): Event {
  const e = readFixture<Event>('gitops', 'flux-generic-webhook-event.json');
  e.involvedObject = { apiVersion: 'v1', ...object };
  e.severity = 'info';
  e.metadata = { revision: REVISION };
  return { ...e, ...fields };
}

const artifact = (kind: string, name: string, fields: Partial<Event> = {}) =>
  fluxEvent(
    { kind, name, namespace: 'flux-system' },
    { reason: 'NewArtifact', message: 'stored artifact', ...fields },
  );
const applied = (reason: string, message: string, fields: Partial<Event> = {}) =>
  fluxEvent(
    { kind: 'Kustomization', name: 'podinfo', namespace: 'flux-system' },
    { reason, message, ...fields },
  );

/** How the service reads one Flux event: what starts, what is woken, counted (by outcome) and logged. */
describe('Flux notifications: the decision', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await Harness.start();
  });
  afterEach(() => h.close());

  async function post(body: Event): Promise<void> {
    expect((await h.postFlux(body)).status).to.equal(202);
    await h.handler.idle();
  }
  const outcomes = async () => {
    const counts: Partial<Record<Outcome, number>> = {};
    for (const outcome of ['change', 'duplicate', 'drift', 'completion', 'ignored'] as const) {
      const n = await h.count('gitops_notifications_total', { tool: 'flux', outcome });
      if (n > 0) counts[outcome] = n;
    }
    return counts;
  };
  const logged = (message: string) => h.log.entries.filter((e) => e.message === message);

  it('starts the sequence for a new artifact of every source kind a target can use', async () => {
    for (const kind of ['OCIRepository', 'Bucket', 'GitRepository']) {
      await h.close();
      const kustomization = {
        kind: 'Kustomization',
        metadata: { name: 'podinfo', namespace: 'flux-system' },
        spec: { sourceRef: { kind, name: 'src' } },
      };
      h = await Harness.start({ sources: new StaticFluxSourceLookup({ objects: [kustomization] }) });
      await post(artifact(kind, 'src'));
      expect(h.started, kind).to.have.length(1);
      expect(await outcomes(), kind).to.deep.equal({ change: 1 });
    }
  });

  it('takes a source without a namespace to be in flux-system', async () => {
    const e = artifact('GitRepository', 'podinfo');
    delete e.involvedObject.namespace;
    await post(e);
    expect(h.started).to.have.length(1);
  });

  it('counts a repeated new artifact as a duplicate and one no target uses as ignored, saying which source', async () => {
    await post(artifact('GitRepository', 'podinfo'));
    await post(artifact('GitRepository', 'podinfo'));
    await post(artifact('OCIRepository', 'unused'));
    expect(await outcomes()).to.deep.equal({ change: 1, duplicate: 1, ignored: 1 });
    const [entry] = logged('new artifact, but no target with onChange uses this source');
    expect(entry?.meta).to.include({
      tool: 'flux',
      source: 'OCIRepository/flux-system/unused',
      reason: 'NewArtifact',
      revision: REVISION,
    });
  });

  it('ignores source events that are not a new artifact with a revision, and objects of other kinds', async () => {
    await post(artifact('GitRepository', 'podinfo', { reason: 'ArtifactUpToDate' }));
    await post(artifact('GitRepository', 'podinfo', { metadata: {} }));
    await post(
      fluxEvent({ kind: 'Alert', name: 'keptn', namespace: 'flux-system' }, { reason: 'Info', message: 'x' }),
    );
    expect(h.started).to.have.length(0);
    expect(await outcomes()).to.deep.equal({ ignored: 3 });
    expect(logged('source event ignored: not a NewArtifact with a revision')).to.have.length(2);
    expect(
      logged('flux event ignored: not about a source, Kustomization or HelmRelease')[0]?.meta,
    ).to.include({ object: 'Alert/flux-system/keptn' });
  });

  it('a delivery it follows: wakes it, and the revision it applied is never a change later, from the controller or the source', async () => {
    h.following.add(`flux ${KUSTOMIZATION}`);
    await post(applied('ReconciliationSucceeded', CHANGE_SET));
    expect(h.woken).to.deep.equal([{ tool: 'flux', target: KUSTOMIZATION }]);
    expect(logged('event about a followed delivery; waking its follower')[0]?.meta).to.include({
      tool: 'flux',
      target: KUSTOMIZATION,
    });
    h.following.clear();
    await post(applied('ReconciliationSucceeded', PERIODIC));
    await post(artifact('GitRepository', 'podinfo'));
    expect(h.started).to.have.length(0);
    expect(await outcomes()).to.deep.equal({ completion: 1, duplicate: 2 });
  });

  it('a failure of a followed delivery wakes it but does not count its revision as applied', async () => {
    h.following.add(`flux ${KUSTOMIZATION}`);
    await post(applied('HealthCheckFailed', 'health check failed', { severity: 'error' }));
    h.following.clear();
    await post(applied('ReconciliationSucceeded', CHANGE_SET));
    expect(h.started, 'applied later by Flux itself: a change').to.have.length(1);
    expect(await outcomes()).to.deep.equal({ completion: 1, change: 1 });
  });

  it('ignores controller events of objects nobody follows that are failures or carry no revision', async () => {
    await post(applied('HealthCheckFailed', 'health check failed', { severity: 'error' }));
    await post(applied('ReconciliationSucceeded', CHANGE_SET, { metadata: {} }));
    expect(await outcomes()).to.deep.equal({ ignored: 2 });
    expect(logged('controller event ignored: not a success with a revision')[0]?.meta).to.include({
      severity: 'error',
    });
  });

  it('counts as drift a revision applied again with a change set (created, configured or deleted lines) or a drift reason; a periodic success is a duplicate', async () => {
    await post(applied('ReconciliationSucceeded', PERIODIC));
    await post(applied('ReconciliationSucceeded', PERIODIC));
    await post(applied('Progressing', 'Reconciliation started\nDeployment/default/podinfo created'));
    await post(applied('Progressing', 'ConfigMap/default/settings deleted'));
    await post(applied('DriftDetected', 'cluster state differs'));
    await post(applied('Progressing', 'Deployment/default/podinfo unchanged'));
    await post(applied('Progressing', 'the Deployment/default/podinfo configured line'));
    expect(await outcomes()).to.deep.equal({ change: 1, duplicate: 3, drift: 3 });
    expect(await h.count('gitops_drift_total', { tool: 'flux' })).to.equal(3);
    expect(logged('drift correction at a revision already applied; no sequence started')[0]?.meta).to.include(
      { revision: REVISION, target: KUSTOMIZATION },
    );
  });

  it('counts a HelmRelease installed or upgraded again at an applied revision as drift', async () => {
    const release = (reason: string) =>
      fluxEvent(
        { kind: 'HelmRelease', name: 'podinfo', namespace: 'default' },
        { reason, message: 'Helm release succeeded', metadata: { revision: '6.3.6' } },
      );
    await post(release('UpgradeSucceeded'));
    await post(release('UpgradeSucceeded'));
    await post(release('InstallSucceeded'));
    expect(await outcomes()).to.deep.equal({ change: 1, drift: 2 });
  });

  it('counts an applied revision of an object no onChange target names as ignored', async () => {
    await post(
      fluxEvent(
        { kind: 'Kustomization', name: 'infrastructure', namespace: 'flux-system' },
        { reason: 'ReconciliationSucceeded', message: PERIODIC },
      ),
    );
    expect(await outcomes()).to.deep.equal({ ignored: 1 });
  });
});
