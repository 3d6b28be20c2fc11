import { expect } from 'chai';
import type { Lease } from '../../../service/kube/objects.js';
import { silentLogger } from '../../../lib/index.js';
import { KubeApi } from '../../../service/kube/kube-api.js';
import { loadKubeConfig } from '../../../service/kube/kube-config.js';
import { KubeApiError } from '../../../service/kube/kube-errors.js';
import { ReplicaLease, type ReplicaLeaseOptions } from '../../../service/leases/replica-lease.js';
import { eventually } from '../../support/eventually.js';
import { sandboxKubeApi } from '../../support/kube.js';
import { freePort } from '../../support/ports.js';
import { INTEGRATION, kubeSandboxPerTest, NAMESPACE } from '../state/harness.js';

describe('ReplicaLease', () => {
  const ctx = kubeSandboxPerTest();

  const replica = (podName: string, options: Partial<ReplicaLeaseOptions> = {}) =>
    ctx.cleanup.add(
      new ReplicaLease({
        kube: ctx.kube.api,
        namespace: NAMESPACE,
        integrationName: INTEGRATION,
        podName,
        renewMs: 100,
        leaseDurationSeconds: 1,
        logger: silentLogger,
        ...options,
      }),
      (r) => r.stop(),
    );
  const leaseOf = (name: string) =>
    ctx.kube.sim.get('Lease', NAMESPACE, name) as unknown as Lease | undefined;

  it('creates <integration>-replica-<pod> with the labels, holder and duration', async () => {
    const r = replica('gitops-service-7d9f-abcde');
    await r.start();
    const lease = leaseOf('gitops-service-replica-gitops-service-7d9f-abcde');
    expect(lease?.metadata?.labels).to.deep.equal({
      'app.kubernetes.io/managed-by': 'keptn-gitops-service',
      'keptn.sh/integration': INTEGRATION,
    });
    expect(lease?.spec?.holderIdentity).to.equal('gitops-service-7d9f-abcde');
    expect(lease?.spec?.leaseDurationSeconds).to.equal(1);
    expect(String(lease?.spec?.renewTime)).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it('renews its lease every renew interval', async () => {
    const r = replica('pod-a');
    await r.start();
    const first = String(leaseOf('gitops-service-replica-pod-a')?.spec?.renewTime);
    const acquired = String(leaseOf('gitops-service-replica-pod-a')?.spec?.acquireTime);
    await eventually(() => String(leaseOf('gitops-service-replica-pod-a')?.spec?.renewTime) !== first);
    await eventually(() => ctx.kube.sim.requestCount({ verb: 'update', resource: 'leases' }) >= 3);
    expect(String(leaseOf('gitops-service-replica-pod-a')?.spec?.acquireTime)).to.equal(acquired);
  });

  it('lists every live replica, itself included, and not another integration', async () => {
    const a = replica('pod-a');
    const b = replica('pod-b');
    const other = replica('pod-c', { integrationName: 'other-service' });
    await Promise.all([a.start(), b.start(), other.start()]);
    expect([...(await a.liveReplicas())].sort()).to.deep.equal(['pod-a', 'pod-b']);
    expect(await b.isAlive('pod-a')).to.equal(true);
    expect(await b.isAlive('pod-c')).to.equal(false);
  });

  it('deletes its lease on stop, so the others see it gone at once', async () => {
    const a = replica('pod-a');
    const b = replica('pod-b');
    await Promise.all([a.start(), b.start()]);
    await a.stop();
    expect(leaseOf('gitops-service-replica-pod-a')).to.equal(undefined);
    expect([...(await b.liveReplicas())]).to.deep.equal(['pod-b']);
    expect(await b.isAlive('pod-a')).to.equal(false);
  });

  it('drops a replica that stops renewing from the live set once its lease expires', async () => {
    const crashed = new AbortController();
    const a = replica('pod-a');
    const b = replica('pod-b');
    await Promise.all([a.start(crashed.signal), b.start()]);
    crashed.abort();
    expect(leaseOf('gitops-service-replica-pod-a')).to.not.equal(undefined);
    expect(await b.isAlive('pod-a')).to.equal(true);
    await eventually(async () => !(await b.liveReplicas()).has('pod-a'), 4000);
    expect(await b.isAlive('pod-a')).to.equal(false);
    expect((await b.liveReplicas()).has('pod-b')).to.equal(true);
  });

  it('takes over the lease a previous run of the same pod left behind', async () => {
    const crashed = new AbortController();
    await replica('pod-a').start(crashed.signal);
    crashed.abort();
    const restarted = replica('pod-a');
    await restarted.start();
    expect(await restarted.isAlive('pod-a')).to.equal(true);
  });

  it('keeps renewing through API errors and answers again once they pass', async () => {
    const r = replica('pod-a');
    await r.start();
    ctx.kube.sim.failNext({ status: 500, count: 3, match: { resource: 'leases', verb: 'get' } });
    const updates = ctx.kube.sim.requestCount({ verb: 'update', resource: 'leases' });
    await eventually(() => ctx.kube.sim.requestCount({ verb: 'update', resource: 'leases' }) > updates + 1);
    expect(await r.isAlive('pod-a')).to.equal(true);
  });

  it('starts through transient API faults: a 503 on the lease create, a reset on the read', async () => {
    ctx.kube.sim.failNext({ status: 'reset', match: { verb: 'get', resource: 'leases' } });
    ctx.kube.sim.failNext({ status: 503, match: { verb: 'create', resource: 'leases' } });
    const r = replica('pod-a', { retry: { initialMs: 10, maxMs: 20 } });
    await r.start();
    expect(leaseOf('gitops-service-replica-pod-a')?.spec?.holderIdentity).to.equal('pod-a');
    expect(await r.isAlive('pod-a')).to.equal(true);
  });

  it('starts although the answer to its lease create was lost (the retried create gets 409)', async () => {
    const kube = new KubeApi(loadKubeConfig(ctx.kube.kubeconfigPath), { requestTimeoutMs: 300 });
    ctx.cleanup.add(kube, (k) => k.close());
    ctx.kube.sim.failNext({ status: 'applied-timeout', match: { verb: 'create', resource: 'leases' } });
    const r = replica('pod-a', { kube, renewMs: 2000, retry: { initialMs: 10, maxMs: 20 } });
    await r.start();
    expect(ctx.kube.sim.requestCount({ verb: 'update', resource: 'leases' }), 'written again').to.equal(1);
    expect(await r.isAlive('pod-a')).to.equal(true);
  });

  it('tells a live replica from a dead one through a 500 on the list and on the read', async () => {
    await replica('pod-a').start();
    const b = replica('pod-b', { retry: { initialMs: 10, maxMs: 20 } });
    await b.start();
    ctx.kube.sim.failNext({ status: 500, match: { verb: 'list', resource: 'leases' } });
    expect([...(await b.liveReplicas())].sort()).to.deep.equal(['pod-a', 'pod-b']);
    ctx.kube.sim.failNext({
      status: 500,
      match: { verb: 'get', resource: 'leases', name: 'gitops-service-replica-pod-a' },
    });
    expect(await b.isAlive('pod-a')).to.equal(true);
  });

  it('gives a valid lease name to a host name with capitals and keeps the identity as is', async () => {
    const r = replica('Dev-Laptop.local');
    await r.start();
    expect(r.leaseName).to.match(/^gitops-service-replica-h[0-9a-f]{40}$/);
    expect(leaseOf(r.leaseName)?.spec?.holderIdentity).to.equal('Dev-Laptop.local');
    expect(await r.isAlive('Dev-Laptop.local')).to.equal(true);
  });

  it('fails start with a KubeApiError naming the lease when the API is unreachable', async () => {
    const r = new ReplicaLease({
      kube: sandboxKubeApi(`http://127.0.0.1:${await freePort()}`),
      namespace: NAMESPACE,
      integrationName: INTEGRATION,
      podName: 'pod-a',
      logger: silentLogger,
      renewMs: 200,
      retry: { initialMs: 10, maxMs: 20 },
    });
    const err = await r.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(KubeApiError);
    expect((err as KubeApiError).transient).to.equal(true);
    expect((err as KubeApiError).message).to.include('gitops-service-replica-pod-a');
  });
});
