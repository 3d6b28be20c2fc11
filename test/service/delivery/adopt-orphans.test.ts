import { expect } from 'chai';
import { silentLogger } from '../../../lib/index.js';
import { adoptOrphanedDeliveries } from '../../../service/delivery/adopt-orphans.js';
import { ConfigMapDeliveryStore } from '../../../service/state/configmap-delivery-store.js';
import { ReplicaLease } from '../../../service/leases/replica-lease.js';
import type { DeliveryRecord } from '../../../service/state/delivery-record.js';
import { eventually } from '../../support/eventually.js';
import { kubeSandboxPerTest, deliveryRecord, INTEGRATION, NAMESPACE } from '../state/harness.js';

describe('adopting the deliveries of a dead replica', () => {
  const ctx = kubeSandboxPerTest();

  const replica = (podName: string) => {
    const lease = ctx.cleanup.add(
      new ReplicaLease({
        kube: ctx.kube.api,
        namespace: NAMESPACE,
        integrationName: INTEGRATION,
        podName,
        renewMs: 100,
        leaseDurationSeconds: 1,
        logger: silentLogger,
      }),
      (r) => r.stop(),
    );
    const store = new ConfigMapDeliveryStore({
      kube: ctx.kube.api,
      namespace: NAMESPACE,
      integrationName: INTEGRATION,
      owner: podName,
      logger: silentLogger,
    });
    return {
      lease,
      store,
      adopt: (includeOwn = false, runStartedAt?: number) =>
        adoptOrphanedDeliveries({ store, replicas: lease, logger: silentLogger, includeOwn, runStartedAt }),
    };
  };

  it('adopts the records of a replica whose lease expired, and only those', async () => {
    const crashed = new AbortController();
    const a = replica('pod-a');
    const b = replica('pod-b');
    const c = replica('pod-c');
    await Promise.all([a.lease.start(crashed.signal), b.lease.start(), c.lease.start()]);
    await a.store.create(deliveryRecord('of-a'));
    await b.store.create(deliveryRecord('of-b'));
    expect(await c.adopt()).to.deep.equal([]);
    crashed.abort();
    await eventually(async () => !(await c.lease.isAlive('pod-a')), 4000);
    expect(await c.adopt()).to.deep.equal([{ ...deliveryRecord('of-a'), owner: 'pod-c' }]);
    const owners = Object.fromEntries((await c.store.list()).map((r) => [r.triggeredid, r.owner]));
    expect(owners).to.deep.equal({ 'of-a': 'pod-c', 'of-b': 'pod-b' });
  });

  it('gives each orphan to exactly one of the replicas adopting at once', async () => {
    const a = replica('pod-a');
    await a.lease.start();
    const ids = Array.from({ length: 8 }, (_, i) => `orphan-${i}`);
    for (const id of ids) await a.store.create(deliveryRecord(id));
    await a.lease.stop();
    const survivors = [replica('pod-b'), replica('pod-c'), replica('pod-d')];
    await Promise.all(survivors.map((s) => s.lease.start()));
    const adopted = (await Promise.all(survivors.map((s) => s.adopt()))).flat();
    expect(adopted.map((r) => r.triggeredid).sort()).to.deep.equal([...ids].sort());
    const owners = new Map((await a.store.list()).map((r) => [r.triggeredid, r.owner]));
    for (const record of adopted) expect(owners.get(record.triggeredid)).to.equal(record.owner);
  });

  it('never lets a restarted pod and a replica that saw its Lease expire both adopt one of its records', async () => {
    const crashed = new AbortController();
    const a = replica('pod-a');
    const b = replica('pod-b');
    await Promise.all([a.lease.start(crashed.signal), b.lease.start()]);
    await a.store.create(deliveryRecord('of-a', { claim: 'created' }));
    crashed.abort();
    await eventually(async () => !(await b.lease.isAlive('pod-a')), 4000);
    const restarted = replica('pod-a');
    // b has listed the records when the restarted pod, its Lease not renewed yet, takes its own back.
    let own: DeliveryRecord[] = [];
    const list = b.store.list.bind(b.store);
    b.store.list = async () => {
      const records = await list();
      own = await restarted.adopt(true, Date.now());
      return records;
    };
    const adopted = [...(await b.adopt()), ...own];
    expect(adopted.map((r) => r.triggeredid)).to.deep.equal(['of-a']);
    expect((await a.store.list())[0]?.owner).to.equal(adopted[0]!.owner);
  });

  it('adopts records without an owner and, at start-up, returns its own', async () => {
    const b = replica('pod-b');
    await b.lease.start();
    await new ConfigMapDeliveryStore({
      kube: ctx.kube.api,
      namespace: NAMESPACE,
      integrationName: INTEGRATION,
      logger: silentLogger,
    }).create(deliveryRecord('ownerless'));
    await b.store.create(deliveryRecord('own'));
    expect((await b.adopt()).map((r) => r.triggeredid)).to.deep.equal(['ownerless']);
    expect((await b.adopt(true)).map((r) => r.triggeredid).sort()).to.deep.equal(['own', 'ownerless']);
  });

  it('at start-up, leaves its own records of this run to the handler that claimed them (a trigger taken before the scan)', async () => {
    const b = replica('pod-b');
    await b.lease.start();
    const runStartedAt = Date.now();
    await b.store.create({
      ...deliveryRecord('previous-run'),
      startedAt: new Date(runStartedAt - 60_000).toISOString(),
    });
    await b.store.create({
      ...deliveryRecord('this-run'),
      startedAt: new Date(runStartedAt + 5).toISOString(),
    });
    expect((await b.adopt(true, runStartedAt)).map((r) => r.triggeredid)).to.deep.equal(['previous-run']);
  });
});
