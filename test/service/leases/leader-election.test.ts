import { expect } from 'chai';
import type { Lease } from '../../../service/kube/objects.js';
import { silentLogger } from '../../../lib/index.js';
import { KubeApi } from '../../../service/kube/kube-api.js';
import { loadKubeConfig } from '../../../service/kube/kube-config.js';
import { LeaderElection, type LeaderElectionOptions } from '../../../service/leases/leader-election.js';
import { eventually } from '../../support/eventually.js';
import { INTEGRATION, kubeSandboxPerTest, NAMESPACE } from '../state/harness.js';

describe('LeaderElection', () => {
  const ctx = kubeSandboxPerTest();

  const LEASE = `${INTEGRATION}-poller`;
  const election = (identity: string, options: Partial<LeaderElectionOptions> = {}) =>
    ctx.cleanup.add(
      new LeaderElection({
        kube: ctx.kube.api,
        namespace: NAMESPACE,
        integrationName: INTEGRATION,
        identity,
        leaseDurationSeconds: 1,
        renewMs: 100,
        retryMs: 50,
        logger: silentLogger,
        ...options,
      }),
      (e) => e.stop(),
    );
  const lease = () => ctx.kube.sim.get('Lease', NAMESPACE, LEASE) as unknown as Lease | undefined;
  const changes = (e: LeaderElection) => {
    const seen: boolean[] = [];
    e.onChange((leader) => seen.push(leader));
    return seen;
  };

  it('makes the first replica leader and writes holder, duration, times and transitions', async () => {
    const a = election('pod-a');
    const seen = changes(a);
    await a.start();
    expect(a.isLeader()).to.equal(true);
    expect(seen).to.deep.equal([true]);
    const spec = lease()?.spec;
    expect(spec?.holderIdentity).to.equal('pod-a');
    expect(spec?.leaseDurationSeconds).to.equal(1);
    expect(spec?.leaseTransitions).to.equal(0);
    expect(String(spec?.acquireTime)).to.match(/\.\d{6}Z$/);
    expect(lease()?.metadata?.labels).to.include({
      'app.kubernetes.io/managed-by': 'keptn-gitops-service',
      'keptn.sh/integration': INTEGRATION,
    });
  });

  it('keeps a second replica on standby while the leader renews', async () => {
    const a = election('pod-a');
    const b = election('pod-b');
    await a.start();
    await b.start();
    const renewed = String(lease()?.spec?.renewTime);
    await eventually(() => String(lease()?.spec?.renewTime) !== renewed);
    await eventually(() => ctx.kube.sim.requestCount({ verb: 'get', resource: 'leases' }) > 30, 4000);
    expect(a.isLeader()).to.equal(true);
    expect(b.isLeader()).to.equal(false);
    expect(lease()?.spec?.holderIdentity).to.equal('pod-a');
  });

  it('lets exactly one of several replicas starting at once win', async () => {
    const all = ['pod-a', 'pod-b', 'pod-c', 'pod-d'].map((id) => election(id));
    await Promise.all(all.map((e) => e.start()));
    expect(all.filter((e) => e.isLeader())).to.have.length(1);
    const winner = all.find((e) => e.isLeader())!;
    expect(lease()?.spec?.holderIdentity).to.equal(winner.identity);
  });

  it('hands over at once when the leader stops and releases the lease', async () => {
    const a = election('pod-a', { leaseDurationSeconds: 30 });
    const b = election('pod-b', { leaseDurationSeconds: 30 });
    const seenA = changes(a);
    const seenB = changes(b);
    await a.start();
    await b.start();
    const started = Date.now();
    await a.stop();
    expect(a.isLeader()).to.equal(false);
    await eventually(() => b.isLeader(), 2000);
    expect(Date.now() - started).to.be.below(5000);
    expect(seenA).to.deep.equal([true, false]);
    expect(seenB).to.deep.equal([true]);
    expect(lease()?.spec?.holderIdentity).to.equal('pod-b');
    expect(lease()?.spec?.leaseTransitions).to.equal(1);
  });

  it('takes over the poller lease when its holder stops renewing', async () => {
    const died = new AbortController();
    const a = election('pod-a');
    const b = election('pod-b');
    await a.start(died.signal);
    await b.start();
    const acquired = String(lease()?.spec?.acquireTime);
    died.abort();
    await eventually(() => !a.isLeader());
    expect(lease()?.spec?.holderIdentity).to.equal('pod-a');
    await eventually(() => b.isLeader(), 4000);
    expect(lease()?.spec?.holderIdentity).to.equal('pod-b');
    expect(lease()?.spec?.leaseTransitions).to.equal(1);
    expect(String(lease()?.spec?.acquireTime)).to.not.equal(acquired);
  });

  it('does not take the lease before it expires', async () => {
    const died = new AbortController();
    const a = election('pod-a', { leaseDurationSeconds: 2 });
    await a.start(died.signal);
    died.abort();
    const diedAt = Date.now();
    const b = election('pod-b', { leaseDurationSeconds: 2 });
    await b.start();
    expect(b.isLeader()).to.equal(false);
    await eventually(() => b.isLeader(), 5000);
    expect(Date.now() - diedAt).to.be.at.least(1500);
  });

  it('steps down when it cannot renew within the renew deadline, and one replica leads again once the API answers', async () => {
    const a = election('pod-a', { renewDeadlineMs: 300 });
    const seen = changes(a);
    await a.start();
    ctx.kube.sim.failNext({
      status: 'reset',
      count: 1000,
      match: (req) => req.resource === 'leases' && req.verb === 'get',
    });
    await eventually(() => !a.isLeader(), 3000);
    expect(seen).to.deep.equal([true, false]);
    ctx.kube.sim.clearFaults();
    const b = election('pod-b');
    await b.start();
    await eventually(
      () =>
        a.isLeader() !== b.isLeader() && lease()?.spec?.holderIdentity === (a.isLeader() ? 'pod-a' : 'pod-b'),
      4000,
    );
  });

  it('becomes leader at start through a 503 on the lease create', async () => {
    ctx.kube.sim.failNext({ status: 503, match: { verb: 'create', resource: 'leases' } });
    const a = election('pod-a', { retry: { initialMs: 10, maxMs: 20 } });
    await a.start();
    expect(a.isLeader()).to.equal(true);
    expect(lease()?.spec?.holderIdentity).to.equal('pod-a');
  });

  it('keeps leading when a renewal was carried out but its answer was lost (the retry gets 409)', async () => {
    const kube = new KubeApi(loadKubeConfig(ctx.kube.kubeconfigPath), { requestTimeoutMs: 300 });
    ctx.cleanup.add(kube, (k) => k.close());
    const a = election('pod-a', {
      kube,
      leaseDurationSeconds: 5,
      renewDeadlineMs: 3000,
      retry: { initialMs: 10, maxMs: 20 },
    });
    const seen = changes(a);
    await a.start();
    ctx.kube.sim.failNext({ status: 'applied-timeout', match: { verb: 'update', resource: 'leases' } });
    await eventually(() => ctx.kube.sim.requestCount({ verb: 'update', resource: 'leases' }) >= 4, 4000);
    expect(seen).to.deep.equal([true]);
    expect(a.isLeader()).to.equal(true);
  });

  it('stops telling a listener that was removed', async () => {
    const a = election('pod-a');
    const seen: boolean[] = [];
    const off = a.onChange((l) => seen.push(l));
    off();
    await a.start();
    expect(seen).to.deep.equal([]);
  });
});
