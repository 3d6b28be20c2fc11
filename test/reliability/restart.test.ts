import { expect } from 'chai';
import { E2eSandbox, type RunningService } from '../support/e2e-harness.js';
import { eventually } from '../support/eventually.js';

const TARGETS = `targets:
  - match: {project: shop, stage: dev, service: carts}
    argocd: {application: carts}
    timeout: 1m
  - match: {project: shop, stage: dev}
    flux: {kind: Kustomization, name: "\${service}", namespace: flux-system}
    timeout: 1m
`;

/** The replica whose log mentions the trigger: it took the delivery from the queue group. */
function holderOf(replicas: RunningService[], triggerId: string): RunningService {
  const holder = replicas.find((r) => r.proc.output.includes(triggerId));
  if (!holder) throw new Error('no replica has taken the trigger yet');
  return holder;
}

describe('restart safety: a delivery survives the death of the replica following it', function () {
  this.timeout(60_000);
  let sandbox: E2eSandbox;
  let replicas: RunningService[];

  beforeEach(async () => {
    sandbox = await E2eSandbox.start({ fluxDelayMs: 50 });
    sandbox.writeTargets(TARGETS);
    sandbox.seedPodinfo();
    sandbox.argocd.addApplication({
      name: 'carts',
      namespace: 'argocd',
      script: { outcome: 'success', healthyAfterMs: 60_000 },
    });
    const common = { REPLICA_LEASE_SECONDS: '2', NATS_JETSTREAM: 'false', LOG_LEVEL: 'debug' };
    replicas = [
      await sandbox.startService({ ...common, K8S_POD_NAME: 'replica-a' }),
      await sandbox.startService({ ...common, K8S_POD_NAME: 'replica-b' }),
    ];
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      for (const r of replicas) console.log(`--- ${r.proc.pid}\n${r.proc.lines.slice(-25).join('\n')}`);
    }
    await sandbox.stop();
  });

  it('finishes a Flux delivery from its marker after SIGKILL: one started, one finished, no second reconcile request', async () => {
    sandbox.flux.script('Kustomization', 'flux-system', 'podinfo', { type: 'success', hold: true });
    const trigger = sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'podinfo' });
    await sandbox.publish(trigger);
    await eventually(() => expect(sandbox.answers(trigger).started).to.have.length(1));
    const holder = await eventually(() => holderOf(replicas, trigger.id));
    await eventually(() =>
      expect(
        sandbox.kube.get('Kustomization', 'flux-system', 'podinfo')?.metadata?.annotations?.[
          'gitops.keptn.sh/delivery'
        ],
      ).to.be.a('string'),
    );
    const patchesBefore = sandbox.kube.requestCount({ verb: 'patch', resource: 'kustomizations' });

    await holder.proc.stop('SIGKILL');
    sandbox.flux.markReady('podinfo');

    const finished = await sandbox.finished(trigger, 30_000);
    expect(finished.data).to.include({ status: 'succeeded', result: 'pass' });
    expect(finished.source).to.equal('gitops-service');
    await eventually(async () =>
      expect((await sandbox.deliveryRecords()).map((r) => r.phase)).to.deep.equal(['finished']),
    );
    const answers = sandbox.answers(trigger);
    expect(answers.started, 'one .started').to.have.length(1);
    expect(answers.finished, 'one .finished').to.have.length(1);
    // The adopter only clears the marker after the .finished: no second requestedAt.
    const reconcilePatches = sandbox.kube.requests.filter(
      (r) => r.verb === 'patch' && r.resource === 'kustomizations',
    );
    expect(reconcilePatches.length - patchesBefore).to.be.at.most(
      1,
      'only the marker-clearing patch after the kill',
    );
    await eventually(() =>
      expect(
        sandbox.kube.get('Kustomization', 'flux-system', 'podinfo')?.metadata?.annotations?.[
          'gitops.keptn.sh/delivery'
        ],
      ).to.equal(undefined),
    );
  });

  it('finishes an Argo CD delivery from its record after SIGKILL without a second sync', async () => {
    const trigger = sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'carts' });
    await sandbox.publish(trigger);
    await eventually(() => expect(sandbox.argocd.syncCount('carts')).to.equal(1));
    const holder = await eventually(() => holderOf(replicas, trigger.id));
    // Killed while the synced application is still rolling out (health Progressing).
    await eventually(() => {
      const { operation, status } = sandbox.argocd.application('carts').app;
      expect(operation).to.equal(undefined);
      expect(status.operationState?.phase).to.equal('Succeeded');
      expect(status.reconciledAt >= status.operationState.finishedAt).to.equal(true);
      expect(status.health.status).to.equal('Progressing');
    });

    await holder.proc.stop('SIGKILL');
    sandbox.argocd.markHealthy('carts');

    const finished = await sandbox.finished(trigger, 30_000);
    expect(finished.data).to.include({ status: 'succeeded', result: 'pass' });
    const answers = sandbox.answers(trigger);
    expect(answers.started).to.have.length(1);
    expect(answers.finished).to.have.length(1);
    expect(sandbox.argocd.syncCount('carts'), 'no second sync').to.equal(1);
  });

  it('sends one .finished when a replica cut off from its Lease is adopted while it still follows the delivery', async () => {
    sandbox.flux.script('Kustomization', 'flux-system', 'podinfo', { type: 'success', hold: true });
    const trigger = sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'podinfo' });
    await sandbox.publish(trigger);
    // Each step is waited for as long as the loaded machine takes: no latency is asserted here.
    await eventually(() => expect(sandbox.answers(trigger).started).to.have.length(1), 30_000, 50);
    const holder = await eventually(() => holderOf(replicas, trigger.id), 30_000, 50);
    const other = replicas.find((r) => r !== holder)!;
    await eventually(
      () =>
        expect(
          sandbox.kube.get('Kustomization', 'flux-system', 'podinfo')?.metadata?.annotations?.[
            'gitops.keptn.sh/delivery'
          ],
        ).to.be.a('string'),
      30_000,
      50,
    );

    // The holder keeps following the object but can no longer renew its Lease: to the other
    // replica it looks dead, so that one adopts the delivery.
    const holderLease = `gitops-service-replica-${holder === replicas[0] ? 'replica-a' : 'replica-b'}`;
    sandbox.kube.failNext({ status: 503, count: 100_000, match: { resource: 'leases', name: holderLease } });
    // Adopted, and resumed: the other replica follows the object too when it turns ready.
    const resuming = (line: string) =>
      line.includes('finishing a delivery adopted from its durable record') && line.includes(trigger.id);
    await eventually(() => expect(other.proc.lines.some(resuming)).to.equal(true), 20_000, 200);
    sandbox.flux.markReady('podinfo');

    const finished = await sandbox.finished(trigger, 30_000);
    expect(finished.data).to.include({ status: 'succeeded', result: 'pass' });
    // The holder's decision not to answer is what could have made a second .finished.
    await eventually(
      () => expect(holder.proc.output).to.include('another replica took this delivery over'),
      30_000,
      100,
    );
    expect(sandbox.answers(trigger).finished, 'one .finished').to.have.length(1);
  });

  it('answers errored, and keeps only a tombstone of the record, when an orphaned delivery maps to no target any more; the replicas keep running', async () => {
    const trigger = sandbox.taskTrigger({ project: 'gone', stage: 'dev', service: 'podinfo' });
    await sandbox.saveDeliveryRecord(trigger, 'replica-that-died');
    // A trigger that matched no rule when it was claimed: its record has no target.
    const unmatched = sandbox.taskTrigger({ project: 'gone', stage: 'dev', service: 'never-matched' });
    await sandbox.saveDeliveryRecord(unmatched, 'replica-that-died', null);
    const finished = await sandbox.finished(trigger, 20_000);
    expect(finished.data).to.include({ status: 'errored', result: 'fail' });
    expect(String(finished.data.message)).to.contain('cannot resume Kustomization/flux-system/podinfo');
    expect((await sandbox.finished(unmatched, 20_000)).data).to.include({
      status: 'errored',
      result: 'fail',
      message: 'no target matches gone/dev/never-matched',
    });
    await eventually(async () =>
      expect((await sandbox.deliveryRecords()).map((r) => r.phase)).to.deep.equal(['finished', 'finished']),
    );
    expect(sandbox.answers(trigger).finished, 'one .finished').to.have.length(1);
    expect(sandbox.answers(unmatched).finished, 'one .finished').to.have.length(1);
    for (const replica of replicas)
      expect((await fetch(`http://127.0.0.1:${replica.healthPort}/health`)).status, 'still running').to.equal(
        200,
      );
  });
});
