import { expect } from 'chai';
import type { KeptnEvent } from '../../lib/index.js';
import { E2eSandbox, type RunningService } from '../support/e2e-harness.js';
import { eventually } from '../support/eventually.js';

const TARGETS = `targets:
  - match: {project: shop, stage: dev}
    flux: {kind: Kustomization, name: "\${service}", namespace: flux-system}
    deploymentName: podinfo-primary
    timeout: 1m
`;
const REQUESTED_AT = 'reconcile.fluxcd.io/requestedAt';

/**
 * What Keptn and the cluster see when the replica following a delivery stops: on SIGTERM it
 * finishes what ends within SHUTDOWN_TIMEOUT and hands the rest over; a replica that dies before
 * its `.finished` reached NATS leaves the delivery to another one; a delivery recorded but never
 * started on the cluster is started by the replica that adopts it. Always one `.started`, one
 * `.finished`, one reconcile request.
 */
describe('e2e: a delivery outlives the replica that followed it', function () {
  this.timeout(90_000);
  let sandbox: E2eSandbox;
  let replicas: RunningService[];

  beforeEach(async () => {
    sandbox = await E2eSandbox.start({ fluxDelayMs: 50 });
    sandbox.writeTargets(TARGETS);
    sandbox.seedPodinfo();
    replicas = [];
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      for (const r of replicas) console.log(`--- ${r.proc.pid}\n${r.proc.lines.slice(-30).join('\n')}`);
    }
    await sandbox.stop();
  });

  async function startReplicas(
    extra: Record<string, string>,
    names = ['replica-a', 'replica-b'],
  ): Promise<void> {
    for (const name of names)
      replicas.push(
        await sandbox.startService({
          REPLICA_LEASE_SECONDS: '2',
          NATS_JETSTREAM: 'false',
          LOG_LEVEL: 'debug',
          K8S_POD_NAME: name,
          ...extra,
        }),
      );
  }

  /**
   * Publishes a held Flux delivery and returns the replica that follows it, once it patched the object.
   * Each step is waited for as long as a loaded machine takes (no latency is asserted here).
   */
  async function heldDelivery(): Promise<{ trigger: KeptnEvent; holder: RunningService; token: string }> {
    sandbox.flux.script('Kustomization', 'flux-system', 'podinfo', { type: 'success', hold: true });
    const trigger = sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'podinfo' });
    await sandbox.publish(trigger);
    await eventually(() => expect(sandbox.answers(trigger).started).to.have.length(1), 30_000, 50);
    const token = await eventually(
      () => {
        const value = sandbox.kube.get('Kustomization', 'flux-system', 'podinfo')?.metadata.annotations?.[
          REQUESTED_AT
        ];
        expect(value).to.be.a('string');
        return value!;
      },
      30_000,
      50,
    );
    const holder = await eventually(
      () => {
        const found = replicas.find((r) => r.proc.output.includes(trigger.id));
        if (!found) throw new Error('no replica has taken the trigger yet');
        return found;
      },
      30_000,
      50,
    );
    return { trigger, holder, token };
  }

  /**
   * Waits until the trigger has its `.finished`, then until the service keeps only its tombstone in the
   * cluster.
   */
  async function expectAnsweredOnce(trigger: KeptnEvent, token: string): Promise<KeptnEvent> {
    const finished = await sandbox.finished(trigger, 45_000);
    await eventually(
      async () => expect((await sandbox.deliveryRecords()).map((r) => r.phase)).to.deep.equal(['finished']),
      20_000,
    );
    const answers = sandbox.answers(trigger);
    expect(answers.started, 'one .started').to.have.length(1);
    expect(answers.finished, 'one .finished').to.have.length(1);
    expect(sandbox.flux.reconciles.get('Kustomization/flux-system/podinfo'), 'one reconcile').to.equal(1);
    expect(
      sandbox.kube.get('Kustomization', 'flux-system', 'podinfo')?.metadata.annotations?.[REQUESTED_AT],
      'no second reconcile request',
    ).to.equal(token);
    return finished;
  }

  it('on SIGTERM, finishes a delivery that ends within SHUTDOWN_TIMEOUT and exits 0', async () => {
    await startReplicas({ SHUTDOWN_TIMEOUT: '30' });
    const { trigger, holder, token } = await heldDelivery();
    const exit = holder.proc.stop('SIGTERM');
    await eventually(() => expect(holder.proc.output).to.include('shutting down'));
    sandbox.flux.markReady('podinfo');
    expect(await exit, 'exit code').to.equal(0);
    const finished = await expectAnsweredOnce(trigger, token);
    expect(finished.data).to.include({ status: 'succeeded', result: 'pass' });
    expect(holder.proc.output, 'the stopping replica sent it').to.include('sent .finished');
  });

  it('on SIGTERM, hands a delivery still running at SHUTDOWN_TIMEOUT over to another replica, which finishes it without reconciling again', async () => {
    await startReplicas({ SHUTDOWN_TIMEOUT: '1' });
    const { trigger, holder, token } = await heldDelivery();
    const stopping = Date.now();
    expect(await holder.proc.stop('SIGTERM'), 'exit code').to.equal(0);
    expect(Date.now() - stopping, 'exits soon after SHUTDOWN_TIMEOUT').to.be.lessThan(15_000);
    expect(sandbox.answers(trigger).finished, 'no .finished from the stopping replica').to.have.length(0);
    expect(await sandbox.deliveryRecords(), 'the record stays for the next replica').to.have.length(1);
    sandbox.flux.markReady('podinfo');
    const finished = await expectAnsweredOnce(trigger, token);
    expect(finished.data).to.include({ status: 'succeeded', result: 'pass' });
  });

  it('a replica that dies before its .finished reached NATS leaves the delivery to another replica', async () => {
    await startReplicas({});
    const { trigger, holder, token } = await heldDelivery();
    // NATS goes away: the holder decides the delivery but cannot send the .finished.
    await sandbox.nats!.stop();
    sandbox.flux.markReady('podinfo');
    await eventually(() => expect(holder.proc.output).to.include('flux reconcile decided'), 45_000, 100);
    await holder.proc.stop('SIGKILL');
    await sandbox.nats!.restart();
    const finished = await expectAnsweredOnce(trigger, token);
    expect(finished.data).to.include({ status: 'succeeded', result: 'pass' });
  });

  it('starts the reconcile of a recorded delivery whose replica died before patching the object, with only a .finished', async () => {
    await startReplicas({}, ['replica-a']);
    const trigger = sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'podinfo' });
    await sandbox.saveDeliveryRecord(trigger, 'replica-that-died');
    const finished = await sandbox.finished(trigger, 30_000);
    expect(finished.data).to.include({ status: 'succeeded', result: 'pass' });
    expect(finished.data.deployment, "the rule's deploymentName").to.deep.include({
      deploymentNames: ['podinfo-primary'],
    });
    await eventually(async () =>
      expect((await sandbox.deliveryRecords()).map((r) => r.phase)).to.deep.equal(['finished']),
    );
    expect(sandbox.answers(trigger).started, 'no .started: the dead replica sent it').to.have.length(0);
    expect(sandbox.answers(trigger).finished).to.have.length(1);
    expect(sandbox.flux.reconciles.get('Kustomization/flux-system/podinfo'), 'reconciled once').to.equal(1);
  });
});
