import { expect } from 'chai';
import type { ConfigMap } from '../../../service/kube/objects.js';
import { silentLogger } from '../../../lib/index.js';
import { KubeApiError } from '../../../service/kube/kube-errors.js';
import {
  ConfigMapDeliveryStore,
  type ConfigMapDeliveryStoreOptions,
} from '../../../service/state/configmap-delivery-store.js';
import { sandboxKubeApi } from '../../support/kube.js';
import { freePort } from '../../support/ports.js';
import { kubeSandboxPerTest, deliveryRecord, INTEGRATION, NAMESPACE } from './harness.js';

const ID = '442c9ff6-c37e-4733-8206-ab88522fa526';

describe('ConfigMapDeliveryStore', () => {
  const ctx = kubeSandboxPerTest();

  const store = (options: Partial<ConfigMapDeliveryStoreOptions> = {}) =>
    new ConfigMapDeliveryStore({
      kube: ctx.kube.api,
      namespace: NAMESPACE,
      integrationName: INTEGRATION,
      owner: 'pod-a',
      logger: silentLogger,
      ...options,
    });
  const configMap = (name: string) =>
    ctx.kube.sim.get('ConfigMap', NAMESPACE, name) as unknown as ConfigMap | undefined;

  it('keeps a record in <integration>-delivery-<triggeredid> with the labels and the owner', async () => {
    await store().create(deliveryRecord(ID));
    const cm = configMap(`${INTEGRATION}-delivery-${ID}`);
    expect(cm?.metadata?.labels).to.deep.equal({
      'app.kubernetes.io/managed-by': 'keptn-gitops-service',
      'keptn.sh/integration': INTEGRATION,
      'keptn.sh/delivery': 'true',
    });
    expect(JSON.parse(cm!.data!.record!)).to.deep.equal({ ...deliveryRecord(ID), owner: 'pod-a' });
  });

  it('lists what it saved, as saved, after a restart (a new store)', async () => {
    await store().create(deliveryRecord(ID, { requestedRevision: 'abc1234', gitcommitid: 'def5678' }));
    await store().create(
      deliveryRecord('second', { tool: 'flux', target: 'Kustomization/flux-system/podinfo' }),
    );
    const listed = await store({ owner: 'pod-b' }).list();
    expect(listed.sort((x, y) => x.triggeredid.localeCompare(y.triggeredid))).to.deep.equal([
      { ...deliveryRecord(ID, { requestedRevision: 'abc1234', gitcommitid: 'def5678' }), owner: 'pod-a' },
      {
        ...deliveryRecord('second', { tool: 'flux', target: 'Kustomization/flux-system/podinfo' }),
        owner: 'pod-a',
      },
    ]);
  });

  it('creates a record only once: a second create, from any replica, finds it taken and changes nothing', async () => {
    expect(await store().create(deliveryRecord(ID))).to.equal(true);
    expect(
      await store({ owner: 'pod-b' }).create(deliveryRecord(ID, { token: 'sync-2', claim: 'other' })),
    ).to.equal(false);
    expect(await store().list()).to.deep.equal([{ ...deliveryRecord(ID), owner: 'pod-a' }]);
  });

  it('retries a create whose response was lost and recognises its own record by the claim id', async () => {
    ctx.kube.sim.failNext({ status: 503, match: { verb: 'create', resource: 'configmaps' } });
    expect(
      await store({ retry: { initialMs: 10, maxMs: 20 } }).create(deliveryRecord(ID, { claim: 'mine' })),
    ).to.equal(true);
    expect(
      await store({ retry: { initialMs: 10, maxMs: 20 } }).create(deliveryRecord(ID, { claim: 'mine' })),
      'a create of the same claim, retried after its response was lost',
    ).to.equal(true);
    expect(await store().create(deliveryRecord(ID, { claim: 'theirs' }))).to.equal(false);
  });

  it('turns a record into a tombstone once its .finished is sent, retrying through API faults', async () => {
    await store().create(deliveryRecord(ID));
    ctx.kube.sim.failNext({ status: 503, count: 3, match: { verb: 'patch', resource: 'configmaps' } });
    await store({ retry: { initialMs: 10, maxMs: 20 } }).finish(deliveryRecord(ID));
    const [record] = await store().list();
    expect(record).to.include({ phase: 'finished', triggeredid: ID });
    expect(Date.parse(record!.finishedAt!)).to.be.closeTo(Date.now(), 5000);
    expect(
      await store().create(deliveryRecord(ID, { claim: 'late duplicate' })),
      'a late duplicate finds the tombstone',
    ).to.equal(false);
  });

  it('records that the .started was sent: a claimed record becomes started, through a 503 and a concurrent claim; a tombstone stays one', async () => {
    await store().create(deliveryRecord(ID, { phase: 'claimed' }));
    ctx.kube.sim.failNext({ status: 503, match: { verb: 'update', resource: 'configmaps' } });
    // Another replica's claim lands between this store's read and its write: written again on the new one.
    ctx.kube.sim.failNext({ status: 409, match: { verb: 'update', resource: 'configmaps' } });
    await store({ retry: { initialMs: 10, maxMs: 20 } }).markStarted(ID);
    expect(await store().list()).to.deep.equal([{ ...deliveryRecord(ID), owner: 'pod-a' }]);

    await store().finish(deliveryRecord(ID));
    await store().markStarted(ID);
    expect(
      (await store().list()).map((r) => r.phase),
      'a late markStarted never undoes the tombstone',
    ).to.deep.equal(['finished']);
    await store().markStarted('no-such-trigger');
  });

  it('lists only its own integration and leaves out records it cannot read', async () => {
    await store().create(deliveryRecord(ID));
    await store({ integrationName: 'other-service' }).create(deliveryRecord('other'));
    ctx.kube.sim.create('ConfigMap', {
      metadata: {
        name: `${INTEGRATION}-delivery-broken`,
        namespace: NAMESPACE,
        labels: {
          'app.kubernetes.io/managed-by': 'keptn-gitops-service',
          'keptn.sh/integration': INTEGRATION,
          'keptn.sh/delivery': 'true',
        },
      },
      data: { record: '{"triggeredid": 42' },
    });
    expect((await store().list()).map((r) => r.triggeredid)).to.deep.equal([ID]);
  });

  it('removes a record, and a record that is already gone without an error', async () => {
    await store().create(deliveryRecord(ID));
    await store().remove(ID);
    expect(configMap(`${INTEGRATION}-delivery-${ID}`)).to.equal(undefined);
    await store().remove(ID);
    expect(await store().list()).to.deep.equal([]);
  });

  it('hashes a trigger id that is no valid object name and still finds it', async () => {
    const odd = 'Trigger/With Spaces_and_CAPS';
    const s = store();
    await s.create(deliveryRecord(odd));
    expect(s.configMapName(odd)).to.match(/^gitops-service-delivery-h[0-9a-f]{40}$/);
    expect((await s.list())[0]?.triggeredid).to.equal(odd);
    expect(await s.claim(odd, 'pod-b', 'pod-a')).to.equal(true);
    await s.remove(odd);
    expect(await s.list()).to.deep.equal([]);
  });

  it('claims a record only from the expected owner', async () => {
    await store().create(deliveryRecord(ID));
    expect(await store().claim(ID, 'pod-c', 'pod-b')).to.equal(false);
    expect(await store().claim(ID, 'pod-b', 'pod-a')).to.equal(true);
    expect((await store().list())[0]?.owner).to.equal('pod-b');
    expect(await store().claim('missing', 'pod-b', 'pod-a')).to.equal(false);
  });

  it('claims a record saved without an owner from no owner', async () => {
    await store({ owner: undefined }).create(deliveryRecord(ID));
    expect((await store().list())[0]?.owner).to.equal(undefined);
    expect(await store().claim(ID, 'pod-b', undefined)).to.equal(true);
  });

  it('lets exactly one of two concurrent claimants win', async () => {
    await store().create(deliveryRecord(ID));
    for (let round = 0; round < 10; round++) {
      const from = (await store().list())[0]!.owner;
      const results = await Promise.all([
        store().claim(ID, `b-${round}`, from),
        store().claim(ID, `c-${round}`, from),
      ]);
      expect(results.filter(Boolean)).to.have.length(1);
      const winner = results[0] ? `b-${round}` : `c-${round}`;
      expect((await store().list())[0]?.owner).to.equal(winner);
    }
  });

  it('answers false when another replica writes between its read and its write (409)', async () => {
    await store().create(deliveryRecord(ID));
    ctx.kube.sim.failNext({ status: 409, match: { verb: 'update', resource: 'configmaps' } });
    expect(await store().claim(ID, 'pod-b', 'pod-a')).to.equal(false);
    expect((await store().list())[0]?.owner).to.equal('pod-a');
  });

  it('fails, once its deadline has passed, with a transient KubeApiError naming the call when the API is unreachable', async () => {
    const s = new ConfigMapDeliveryStore({
      kube: sandboxKubeApi(`http://127.0.0.1:${await freePort()}`),
      namespace: NAMESPACE,
      integrationName: INTEGRATION,
      logger: silentLogger,
      retry: { initialMs: 10, maxMs: 20 },
    });
    const err = await s.create(deliveryRecord(ID), { deadline: Date.now() + 200 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(KubeApiError);
    expect((err as KubeApiError).transient).to.equal(true);
    expect((err as KubeApiError).message)
      .to.include('create configmaps')
      .and.include(NAMESPACE);
  });
});
