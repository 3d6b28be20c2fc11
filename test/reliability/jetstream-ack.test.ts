import { expect } from 'chai';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { JetStreamSource } from '../../lib/index.js';
import { E2eSandbox, type RunningService } from '../support/e2e-harness.js';
import { eventually } from '../support/eventually.js';

const TARGETS = `targets:
  - match: {project: shop, stage: dev}
    flux: {kind: Kustomization, name: "\${service}", namespace: flux-system}
    timeout: 1m
`;

describe('JetStream: a trigger is acknowledged once its delivery is recorded', function () {
  this.timeout(60_000);
  let sandbox: E2eSandbox;
  let service: RunningService;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const consumer = JetStreamSource.durableName('gitops-service', 'sh.keptn.event.deliver.triggered');
  const pending = async () => (await jsm.consumers.info('keptn', consumer)).num_ack_pending;

  beforeEach(async () => {
    sandbox = await E2eSandbox.start({ jetstream: true, fluxDelayMs: 50 });
    sandbox.writeTargets(TARGETS);
    sandbox.seedPodinfo();
    service = await sandbox.startService({ NATS_JETSTREAM: 'auto', K8S_POD_NAME: 'replica-a' });
    nc = await connect({ servers: sandbox.natsUrl });
    jsm = await jetstreamManager(nc);
  });
  afterEach(async () => {
    await nc.close();
    await sandbox.stop();
  });

  it('acknowledges after the record is saved, while the deployment is still followed', async () => {
    sandbox.flux.script('Kustomization', 'flux-system', 'podinfo', { type: 'success', hold: true });
    const trigger = sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'podinfo' });
    await sandbox.publish(trigger);
    await eventually(() =>
      expect(
        sandbox.kube.get('Kustomization', 'flux-system', 'podinfo')?.metadata?.annotations?.[
          'gitops.keptn.sh/delivery'
        ],
      ).to.be.a('string'),
    );
    await eventually(async () => expect(await pending()).to.equal(0));
    expect(sandbox.answers(trigger).finished).to.have.length(0);
    sandbox.flux.markReady('podinfo');
    expect((await sandbox.finished(trigger, 20_000)).data).to.include({
      status: 'succeeded',
      result: 'pass',
    });
  });

  it('sends nothing and leaves the trigger unacknowledged, for redelivery, when the service dies while creating its record', async () => {
    // The record's ConfigMap create is never answered: the service is stuck before its .started.
    sandbox.kube.failNext({ status: 'timeout', match: { verb: 'create', resource: 'configmaps' } });
    const trigger = sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'podinfo' });
    await sandbox.publish(trigger);
    await eventually(() =>
      expect(sandbox.kube.requestCount({ verb: 'create', resource: 'configmaps' })).to.equal(1),
    );
    await service.proc.stop('SIGKILL');
    // A later event on the stream: the control plane records in stream order, so a .started the
    // service sent before it died is recorded before this one.
    const later = sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'podinfo' }, {}, 'test');
    await sandbox.publish(later);
    await eventually(() => expect(sandbox.controlPlane.events({ type: later.type })).to.have.length(1));
    expect(sandbox.answers(trigger).started, 'no .started before the record exists').to.have.length(0);
    expect(await pending(), 'unacknowledged: JetStream delivers it again after the ack wait').to.equal(1);
    expect(
      sandbox.kube.requestCount({ verb: 'patch', resource: 'kustomizations' }),
      'Flux was never asked to reconcile',
    ).to.equal(0);
  });

  it('does not deliver again a trigger that already has a record (redelivered after a crash): the replica of the record finishes it', async () => {
    const trigger = sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'podinfo' });
    await sandbox.saveDeliveryRecord(trigger, 'replica-a');
    await sandbox.publish(trigger);
    await eventually(() => expect(service.proc.output).to.include('another instance answers this trigger'));
    await eventually(async () => expect(await pending()).to.equal(0));
    expect(sandbox.answers(trigger).started, 'no second .started from the redelivery').to.have.length(0);
    expect(sandbox.answers(trigger).finished, 'no .finished from the redelivery').to.have.length(0);
    expect(
      sandbox.kube.requestCount({ verb: 'patch', resource: 'kustomizations' }),
      'Flux not asked to reconcile again',
    ).to.equal(0);
  });
});
