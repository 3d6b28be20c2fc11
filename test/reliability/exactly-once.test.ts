import { expect } from 'chai';
import { encodeKeptnEvent, type KeptnEvent } from '../../lib/index.js';
import { seedGitRepository, seedKustomization } from '../../service/sandbox/flux/index.js';
import type { RequestInfo } from '../../service/sandbox/kube/faults.js';
import { E2eSandbox, metricsText, metricValue, type RunningService } from '../support/e2e-harness.js';
import { eventually } from '../support/eventually.js';

const TARGETS = `targets:
  - match: {project: shop, stage: dev, service: carts}
    argocd: {application: carts}
    timeout: 1m
  - match: {project: shop, stage: dev}
    flux: {kind: Kustomization, name: "\${service}", namespace: flux-system}
    timeout: 1m
`;

const TRIGGERS = 12;
/** nats-server's default max_payload. */
const MAX_PAYLOAD = 1024 * 1024;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function seed(sandbox: E2eSandbox): void {
  sandbox.writeTargets(TARGETS);
  seedGitRepository(sandbox.kube, { name: 'repo', namespace: 'flux-system' });
  for (let i = 0; i < TRIGGERS; i++)
    seedKustomization(sandbox.kube, {
      name: `svc-${i}`,
      namespace: 'flux-system',
      wait: true,
      sourceRef: { kind: 'GitRepository', name: 'repo' },
    });
  sandbox.argocd.addApplication({ name: 'carts', namespace: 'argocd', script: { outcome: 'success' } });
}

/** Triggers the replicas received and refused: taken by another replica or a record, or already seen. */
async function refusedCopies(replicas: RunningService[]): Promise<number> {
  let refused = 0;
  for (const replica of replicas) {
    const text = await metricsText(replica);
    for (const reason of ['taken', 'duplicate'])
      refused += metricValue(text, `keptn_events_rejected_total{reason="${reason}"}`);
  }
  return refused;
}

/**
 * Every trigger got exactly one `.started`, one passing `.finished` and one reconcile of its Kustomization.
 */
function expectExactlyOnce(sandbox: E2eSandbox, triggers: KeptnEvent[]): void {
  for (const trigger of triggers) {
    const { started, finished } = sandbox.answers(trigger);
    const name = String(trigger.data.service);
    expect(started, `.started of ${name}`).to.have.length(1);
    expect(finished, `.finished of ${name}`).to.have.length(1);
    expect(finished[0]!.data, name).to.include({ status: 'succeeded', result: 'pass' });
    expect(
      sandbox.flux.reconciles.get(`Kustomization/flux-system/${name}`),
      `reconciles of ${name}`,
    ).to.equal(1);
  }
}

for (const jetstream of [false, true]) {
  describe(`exactly once, two replicas on ${jetstream ? 'JetStream' : 'core NATS'}: one .started, one .finished, one deployment per trigger`, function () {
    this.timeout(90_000);
    let sandbox: E2eSandbox;
    let replicas: RunningService[];
    const common = { NATS_JETSTREAM: jetstream ? 'true' : 'false', REPLICA_LEASE_SECONDS: '5' };

    beforeEach(async () => {
      sandbox = await E2eSandbox.start({ jetstream, fluxDelayMs: 30 });
      seed(sandbox);
      replicas = [
        await sandbox.startService({ ...common, K8S_POD_NAME: 'replica-a' }),
        await sandbox.startService({ ...common, K8S_POD_NAME: 'replica-b' }),
      ];
    });

    afterEach(async function () {
      if (this.currentTest?.state === 'failed')
        for (const r of replicas) console.log(`--- ${r.proc.pid}\n${r.proc.lines.slice(-20).join('\n')}`);
      await sandbox.stop();
    });

    it('answers a trigger published twice 50 ms apart once, and stays silent when it is published again after its .finished, to replicas that never saw it', async () => {
      const triggers = Array.from({ length: TRIGGERS }, (_, i) =>
        sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: `svc-${i}` }),
      );
      await sandbox.publish(...triggers);
      await pause(50); // the scenario: the same triggers again 50 ms later, as a redelivery comes
      await sandbox.publish(...triggers);
      for (const trigger of triggers) await sandbox.finished(trigger, 30_000);
      // Every second copy was seen and refused: nothing of it is still to come.
      await eventually(
        async () => expect(await refusedCopies(replicas)).to.be.at.least(TRIGGERS),
        20_000,
        100,
      );
      expectExactlyOnce(sandbox, triggers);

      // New replicas remember nothing: only the records (tombstones) tell them these triggers are answered.
      await Promise.all(replicas.map((r) => r.proc.stop('SIGTERM')));
      replicas = [
        await sandbox.startService({ ...common, K8S_POD_NAME: 'replica-c' }),
        await sandbox.startService({ ...common, K8S_POD_NAME: 'replica-d' }),
      ];
      await sandbox.publish(...triggers);
      await eventually(
        async () => expect(await refusedCopies(replicas)).to.be.at.least(TRIGGERS),
        20_000,
        100,
      );
      expectExactlyOnce(sandbox, triggers);
    });
  });
}

describe('exactly once through API faults on the delivery record', function () {
  this.timeout(90_000);
  let sandbox: E2eSandbox;
  let service: RunningService;
  const common = { NATS_JETSTREAM: 'false', K8S_POD_NAME: 'replica-a', REPLICA_LEASE_SECONDS: '2' };

  beforeEach(async () => {
    sandbox = await E2eSandbox.start({ fluxDelayMs: 30 });
    seed(sandbox);
    service = await sandbox.startService(common);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.log(service.proc.lines.slice(-30).join('\n'));
    await sandbox.stop();
  });

  it('does not deliver again after a restart of the same pod when recording the finished delivery meets 503s (Flux and Argo CD)', async () => {
    const recordWrite = (r: RequestInfo) =>
      r.resource === 'configmaps' && ['patch', 'update', 'delete'].includes(r.verb);
    sandbox.kube.failNext({ status: 503, count: 6, match: recordWrite });
    const flux = sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'svc-0' });
    const argo = sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'carts' });
    await sandbox.publish(flux, argo);
    await sandbox.finished(flux, 30_000);
    await sandbox.finished(argo, 30_000);
    await eventually(
      async () =>
        expect((await sandbox.deliveryRecords()).map((r) => r.phase)).to.deep.equal(['finished', 'finished']),
      20_000,
      200,
    );

    await service.proc.stop('SIGTERM');
    service = await sandbox.startService(common);
    // The start-up scan for this pod's unfinished records has run once the service says it started;
    // a delivery resumed from it would be answered before a new trigger is, from publish to .finished.
    await eventually(
      () => expect(service.proc.output).to.include('keptn-gitops-service started'),
      20_000,
      100,
    );
    const later = sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'svc-1' });
    await sandbox.publish(later);
    expect((await sandbox.finished(later, 30_000)).data).to.include({ status: 'succeeded', result: 'pass' });
    for (const trigger of [flux, argo]) {
      expect(sandbox.answers(trigger).started, 'one .started').to.have.length(1);
      expect(sandbox.answers(trigger).finished, 'one .finished').to.have.length(1);
    }
    expect(sandbox.flux.reconciles.get('Kustomization/flux-system/svc-0'), 'one reconcile').to.equal(1);
    expect(sandbox.argocd.syncCount('carts'), 'one sync').to.equal(1);
  });

  it('retries creating the record through a 503 and a reset, then delivers once', async () => {
    sandbox.kube.failNext({ status: 503, match: { verb: 'create', resource: 'configmaps' } });
    sandbox.kube.failNext({ status: 'reset', match: { verb: 'create', resource: 'configmaps' } });
    const trigger = sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'svc-1' });
    const finished = await sandbox.deliver(trigger, 30_000);
    expect(finished.data).to.include({ status: 'succeeded', result: 'pass' });
    expect(sandbox.answers(trigger).started).to.have.length(1);
    expect(
      sandbox.kube.requestCount({ verb: 'create', resource: 'configmaps' }),
      'the create was retried',
    ).to.be.at.least(3);
  });
});

describe('an answer too large for the NATS server', function () {
  this.timeout(90_000);
  let sandbox: E2eSandbox;
  let service: RunningService;

  beforeEach(async () => {
    sandbox = await E2eSandbox.start({ fluxDelayMs: 30 });
    seed(sandbox);
    service = await sandbox.startService({ NATS_JETSTREAM: 'false', K8S_POD_NAME: 'replica-a' });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.log(service.proc.lines.slice(-30).join('\n'));
    await sandbox.stop();
  });

  it('is sent reduced, counted and logged, and never holds up the answers behind it', async () => {
    // Valid, and just under the server's max_payload (1 MiB): the .finished adds its data and goes over.
    const big = sandbox.taskTrigger(
      { project: 'shop', stage: 'dev', service: 'svc-2' },
      { labels: { notes: '' } },
    );
    big.data.labels = { notes: 'x'.repeat(MAX_PAYLOAD - 150 - encodeKeptnEvent(big).length) };
    const next = sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'svc-3' });
    await sandbox.publish(big);
    await sandbox.publish(next);

    const finished = await sandbox.finished(big, 30_000);
    expect(finished.data, 'the .finished without the copied labels').to.include({
      status: 'succeeded',
      result: 'pass',
    });
    expect(finished.data.labels).to.equal(undefined);
    expect((await sandbox.finished(next, 30_000)).data).to.include({ status: 'succeeded', result: 'pass' });
    expect(sandbox.answers(big).started).to.have.length(1);
    expect(sandbox.answers(big).finished).to.have.length(1);
    expect(
      metricValue(
        await metricsText(service),
        'keptn_events_unpublishable_total{type="sh.keptn.event.deliver.finished"}',
      ),
    ).to.equal(1);
    expect(service.proc.output).to.include('an answer can never be published as it is');
    expect((await fetch(`http://127.0.0.1:${service.healthPort}/ready`)).status).to.equal(200);
  });
});
