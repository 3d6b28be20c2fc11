import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { KeptnIntegration, silentLogger, type KeptnEvent } from '../../lib/index.js';
import { seedGitRepository, seedKustomization } from '../../service/sandbox/flux/index.js';
import { E2eSandbox, type RunningService } from '../support/e2e-harness.js';
import { eventually } from '../support/eventually.js';

const TARGETS = `targets:
  - match: {project: shop}
    flux: {kind: Kustomization, name: "\${service}", namespace: flux-system}
    timeout: 20s
`;

/**
 * The service inside Keptn sequences, with the control-plane simulator behaving as Keptn 1.4.5's
 * shipyard-controller did in a hand run (docs/keptn-control-plane.md): `deliver` answered by the
 * service, then a `test` task answered by a small responder, then the next stage (`triggeredOn`).
 */
describe('e2e: the service in Keptn sequences (deliver, then test, then the next stage)', function () {
  this.timeout(90_000);
  let sandbox: E2eSandbox;
  let service: RunningService;
  let responder: KeptnIntegration;
  const tested: KeptnEvent[] = [];

  before(async () => {
    sandbox = await E2eSandbox.start({ jetstream: true, fluxDelayMs: 50 });
    seedGitRepository(sandbox.kube, { name: 'podinfo', namespace: 'flux-system' });
    for (const name of ['podinfo', 'broken', 'held']) {
      seedKustomization(sandbox.kube, {
        name,
        namespace: 'flux-system',
        wait: true,
        sourceRef: { kind: 'GitRepository', name: 'podinfo' },
      });
    }
    sandbox.flux.script('Kustomization', 'flux-system', 'broken', {
      type: 'stalled',
      reason: 'HealthCheckFailed',
      message:
        "health check failed after 30s: timeout waiting for: [Deployment/shop/broken status: 'InProgress']",
    });
    sandbox.controlPlane.setShipyard('shop', {
      dev: { delivery: [{ name: 'deliver', properties: { strategy: 'direct' } }, 'test'] },
      prod: { delivery: { tasks: ['deliver'], triggeredOn: ['dev.delivery.finished'] } },
    });
    sandbox.writeTargets(TARGETS);
    service = await sandbox.startService({ REPLICA_LEASE_SECONDS: '2', K8S_POD_NAME: 'first' });
    responder = new KeptnIntegration({
      name: 'test-responder',
      mode: {
        kind: 'nats',
        servers: sandbox.natsUrl,
        shipyardController: sandbox.controlPlane.url,
        jetstream: 'false',
      },
      metadata: {
        hostname: 'node-1',
        integrationVersion: '0.1.0',
        location: 'control-plane',
        namespace: 'keptn',
        podName: 'responder',
        deploymentName: 'test-responder',
      },
      subscriptions: [{ event: 'sh.keptn.event.test.triggered' }],
      logger: silentLogger,
      pingIntervalMs: 200,
      healthPort: 0,
      healthHost: '127.0.0.1',
    }).handle('test', async (event) => {
      tested.push(event);
      const now = new Date().toISOString();
      return { test: { start: now, end: now } };
    });
    await responder.start();
  });

  after(async () => {
    await responder?.stop({ deadlineMs: 1000 }).catch(() => {});
    await sandbox?.stop();
  });

  function sequenceTrigger(service: string, stage = 'dev'): KeptnEvent {
    return {
      specversion: '1.0',
      id: randomUUID(),
      source: 'https://github.com/keptn/keptn/cli#configuration-change',
      type: `sh.keptn.event.${stage}.delivery.triggered`,
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      shkeptncontext: randomUUID(),
      data: { project: 'shop', stage, service, labels: { buildId: 'e2e-7' } },
    };
  }

  const ofContext = (type: string, context: string) =>
    sandbox.controlPlane.events({ type, shkeptncontext: context });

  async function sequenceFinished(stage: string, context: string, timeoutMs = 30_000): Promise<KeptnEvent> {
    return eventually(
      () => {
        const [finished] = ofContext(`sh.keptn.event.${stage}.delivery.finished`, context);
        if (!finished) throw new Error(`${stage}.delivery of ${context} has not finished`);
        return finished;
      },
      timeoutMs,
      50,
    );
  }

  it('the service and the responder are registered; the service subscribes per project of its targets file', () => {
    const registered = Object.fromEntries(
      sandbox.controlPlane
        .registrations()
        .map((r) => [r.name, r.subscriptions.map((s) => [s.event, s.filter?.projects])]),
    );
    expect(registered).to.deep.include({
      'gitops-service': [['sh.keptn.event.deliver.triggered', ['shop']]],
      'test-responder': [['sh.keptn.event.test.triggered', null]],
    });
  });

  it('a passing delivery reaches the test task with the deployment data, then the next stage, and both stages pass', async () => {
    const trigger = sequenceTrigger('podinfo');
    await sandbox.publish(trigger);
    const context = trigger.shkeptncontext!;
    const devDone = await sequenceFinished('dev', context);
    expect(devDone.data).to.include({ result: 'pass', status: 'succeeded' });
    expect(devDone.triggeredid).to.equal(trigger.id);
    const [deliver] = ofContext('sh.keptn.event.deliver.finished', context);
    const seenByTest = tested.find((e) => e.shkeptncontext === context);
    expect(seenByTest, 'the test task ran').to.not.equal(undefined);
    expect(seenByTest!.data.deployment, 'test reads what deliver reported').to.deep.equal(
      deliver!.data.deployment,
    );
    expect(seenByTest!.data).to.include({ result: 'pass', status: 'succeeded' });
    const prodDone = await sequenceFinished('prod', context);
    expect(prodDone.data).to.include({ result: 'pass', stage: 'prod' });
    // one .started and one .finished per deliver trigger, in both stages
    for (const t of ofContext('sh.keptn.event.deliver.triggered', context)) {
      expect(sandbox.answers(t).started, t.data.stage).to.have.length(1);
      expect(sandbox.answers(t).finished, t.data.stage).to.have.length(1);
    }
    expect(ofContext('sh.keptn.event.deliver.triggered', context)).to.have.length(2);
  });

  it('a failed deployment fails the sequence: no test task, no next stage', async () => {
    const trigger = sequenceTrigger('broken');
    await sandbox.publish(trigger);
    const context = trigger.shkeptncontext!;
    const done = await sequenceFinished('dev', context);
    expect(done.data).to.include({ result: 'fail' });
    expect(done.data.message).to.include('health check failed');
    expect(ofContext('sh.keptn.event.test.triggered', context)).to.deep.equal([]);
    expect(ofContext('sh.keptn.event.prod.delivery.triggered', context)).to.deep.equal([]);
  });

  it('the same sequence trigger twice runs one sequence, whose deliver is answered once', async () => {
    const trigger = sequenceTrigger('podinfo', 'prod');
    await sandbox.publish(trigger, trigger);
    const context = trigger.shkeptncontext!;
    await sequenceFinished('prod', context);
    const delivers = ofContext('sh.keptn.event.deliver.triggered', context);
    expect(delivers).to.have.length(1);
    expect(sandbox.answers(delivers[0]!).started).to.have.length(1);
    expect(sandbox.answers(delivers[0]!).finished).to.have.length(1);
    expect(sandbox.controlPlane.waitingSequences()).to.deep.equal([]);
  });

  it('a service killed mid-delivery leaves no sequence waiting: the next process finishes the deliver, the sequence and the one queued behind it go on', async () => {
    sandbox.flux.script('Kustomization', 'flux-system', 'held', { type: 'success', hold: true });
    const first = sequenceTrigger('held');
    const second = sequenceTrigger('held');
    await sandbox.publish(first);
    await eventually(() =>
      expect(ofContext('sh.keptn.event.deliver.started', first.shkeptncontext!)).to.have.length(1),
    );
    await sandbox.publish(second);
    await eventually(() =>
      expect(sandbox.controlPlane.waitingSequences().map((e) => e.id)).to.deep.equal([second.id]),
    );
    await service.proc.stop('SIGKILL');
    service = await sandbox.startService({ REPLICA_LEASE_SECONDS: '2', K8S_POD_NAME: 'second' });
    // the held reconcile ends; the ones after it are not held
    sandbox.flux.script('Kustomization', 'flux-system', 'held', { type: 'success' });
    sandbox.flux.markReady('held');
    const firstDone = await sequenceFinished('dev', first.shkeptncontext!, 45_000);
    expect(firstDone.data).to.include({ result: 'pass' });
    // the second sequence was waiting for the first; it runs now
    const secondDone = await sequenceFinished('dev', second.shkeptncontext!, 45_000);
    expect(secondDone.data).to.include({ result: 'pass' });
    const [deliver] = ofContext('sh.keptn.event.deliver.triggered', first.shkeptncontext!);
    expect(sandbox.answers(deliver!).started, 'one .started').to.have.length(1);
    expect(sandbox.answers(deliver!).finished, 'one .finished').to.have.length(1);
    await eventually(() => expect(sandbox.controlPlane.waitingSequences()).to.deep.equal([]));
  });
});
