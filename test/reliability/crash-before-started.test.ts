import { expect } from 'chai';
import { seedGitRepository, seedKustomization } from '../../service/sandbox/flux/index.js';
import { E2eSandbox, type RunningService } from '../support/e2e-harness.js';
import { eventually } from '../support/eventually.js';

const TARGETS = `targets:
  - match: {project: shop, stage: dev}
    flux: {kind: Kustomization, name: "\${service}", namespace: flux-system}
    timeout: 1m
`;

/**
 * The window between creating a trigger's record and sending its `.started`: the record says the
 * trigger is taken, so a redelivery or a replay is answered by nobody; whoever finishes the record
 * (the restarted pod, or another replica once the Lease expired) must send the `.started` too.
 */
describe('a replica killed after claiming a trigger and before its .started', function () {
  this.timeout(90_000);
  let sandbox: E2eSandbox;
  let replicas: RunningService[] = [];

  async function claimThenKill(jetstream: boolean, names: string[]) {
    sandbox = await E2eSandbox.start({ jetstream, fluxDelayMs: 30 });
    sandbox.writeTargets(TARGETS);
    seedGitRepository(sandbox.kube, { name: 'repo', namespace: 'flux-system' });
    seedKustomization(sandbox.kube, {
      name: 'podinfo',
      namespace: 'flux-system',
      wait: true,
      sourceRef: { kind: 'GitRepository', name: 'repo' },
    });
    const env = { NATS_JETSTREAM: String(jetstream), REPLICA_LEASE_SECONDS: '2', LOG_LEVEL: 'debug' };
    replicas = [];
    for (const name of names) replicas.push(await sandbox.startService({ ...env, K8S_POD_NAME: name }));

    // The record's create is carried out, its answer never comes: the replica holds the claim, no .started.
    sandbox.kube.failNext({ status: 'applied-timeout', match: { verb: 'create', resource: 'configmaps' } });
    const trigger = sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'podinfo' });
    await sandbox.publish(trigger);
    const [record] = await eventually(
      async () => {
        const records = await sandbox.deliveryRecords();
        expect(records.map((r) => r.triggeredid)).to.deep.equal([trigger.id]);
        return records;
      },
      20_000,
      50,
    );
    const holder = await eventually(
      () =>
        replicas.find((r) => r.proc.output.includes(trigger.id)) ??
        expect.fail(`no replica took ${trigger.id} yet`),
    );
    await holder.proc.stop('SIGKILL');
    expect(sandbox.answers(trigger).started, 'killed before its .started').to.have.length(0);
    expect(
      sandbox.kube.requestCount({ verb: 'patch', resource: 'kustomizations' }),
      'and before Flux was asked',
    ).to.equal(0);
    return { trigger, holder, env, owner: record!.owner! };
  }

  afterEach(async function () {
    if (this.currentTest?.state === 'failed')
      for (const r of replicas) console.log(`--- ${r.proc.pid}\n${r.proc.lines.slice(-30).join('\n')}`);
    await sandbox?.stop();
  });

  it('JetStream, the pod restarted: one .started, one .finished, one reconcile', async () => {
    const { trigger, env, owner } = await claimThenKill(true, ['replica-a']);
    replicas.push(await sandbox.startService({ ...env, K8S_POD_NAME: owner }));

    const finished = await sandbox.finished(trigger, 30_000);
    expect(finished.data).to.include({ status: 'succeeded', result: 'pass' });
    await eventually(
      async () => expect((await sandbox.deliveryRecords()).map((r) => r.phase)).to.deep.equal(['finished']),
      10_000,
      100,
    );
    const { started } = sandbox.answers(trigger);
    expect(started, 'one .started').to.have.length(1);
    expect(started[0]!.time! <= finished.time!, '.started before .finished').to.equal(true);
    expect(sandbox.answers(trigger).finished, 'one .finished').to.have.length(1);
    expect(sandbox.flux.reconciles.get('Kustomization/flux-system/podinfo'), 'one reconcile').to.equal(1);
  });

  it('core NATS, another replica adopts the record: one .started, one .finished, one reconcile', async () => {
    const { trigger, holder } = await claimThenKill(false, ['replica-a', 'replica-b']);
    const other = replicas.find((r) => r !== holder)!;

    const finished = await sandbox.finished(trigger, 30_000);
    expect(finished.data).to.include({ status: 'succeeded', result: 'pass' });
    expect(other.proc.output).to.include('adopted the delivery of a replica that is gone');
    await eventually(
      async () => expect((await sandbox.deliveryRecords()).map((r) => r.phase)).to.deep.equal(['finished']),
      10_000,
      100,
    );
    expect(sandbox.answers(trigger).started, 'one .started').to.have.length(1);
    expect(sandbox.answers(trigger).finished, 'one .finished').to.have.length(1);
    expect(sandbox.flux.reconciles.get('Kustomization/flux-system/podinfo'), 'one reconcile').to.equal(1);
  });
});
