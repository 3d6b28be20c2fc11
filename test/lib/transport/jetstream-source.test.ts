import { expect } from 'chai';
import { jetstreamManager } from '@nats-io/jetstream';
import { JetStreamSource, type TaskHandler } from '../../../lib/index.js';
import { eventually } from '../../support/eventually.js';
import { NatsHarness, taskTrigger } from '../harness.js';

describe('JetStreamSource', () => {
  let h: NatsHarness;
  beforeEach(async () => {
    h = await NatsHarness.start({ jetstream: true });
  });
  afterEach(async () => {
    await h.dispose();
  });

  it('handles triggers published while the service was stopped once it starts again', async () => {
    const first = h.integration({
      mode: {
        kind: 'nats',
        servers: h.nats.url,
        shipyardController: h.sim.url,
        jetstream: 'auto',
        reconnectTimeWaitMs: 50,
      },
    });
    await first.handle('deliver', async () => ({})).start();
    const live = taskTrigger('deliver');
    await h.publish(live);
    await eventually(() => expect(h.kinds(live.id)).to.deep.equal(['started', 'finished']));
    await first.stop({ deadlineMs: 500 });

    const missed = [taskTrigger('deliver'), taskTrigger('deliver')];
    for (const t of missed) await h.publish(t);
    const second = h.integration({
      mode: {
        kind: 'nats',
        servers: h.nats.url,
        shipyardController: h.sim.url,
        jetstream: 'auto',
        reconnectTimeWaitMs: 50,
      },
    });
    await second.handle('deliver', async () => ({})).start();
    for (const t of missed)
      await eventually(() => expect(h.kinds(t.id)).to.deep.equal(['started', 'finished']));
    expect(h.kinds(live.id)).to.deep.equal(['started', 'finished']);
    const jsm = await jetstreamManager(h.nc);
    const info = await jsm.consumers.info(
      'keptn',
      JetStreamSource.durableName('gitops-service', 'sh.keptn.event.deliver.triggered'),
    );
    await eventually(async () => (await jsm.consumers.info('keptn', info.name)).num_ack_pending === 0);
  });

  it('keeps the trigger of a handler that claims unacknowledged (to be redelivered after a crash), and sends nothing, until the claim is decided', async () => {
    let decide = () => {};
    const trigger = taskTrigger('deliver');
    const handler: TaskHandler = {
      claim: (event) =>
        event.id === trigger.id
          ? new Promise((resolve) => (decide = () => resolve('ours')))
          : Promise.resolve('ours'),
      handle: async () => ({}),
    };
    const integration = h.integration({
      mode: {
        kind: 'nats',
        servers: h.nats.url,
        shipyardController: h.sim.url,
        jetstream: 'auto',
        reconnectTimeWaitMs: 50,
      },
    });
    await integration.handle('deliver', handler).start();
    await h.publish(trigger);
    const jsm = await jetstreamManager(h.nc);
    const consumer = JetStreamSource.durableName('gitops-service', 'sh.keptn.event.deliver.triggered');
    const info = () => jsm.consumers.info('keptn', consumer);
    const pending = async () => (await info()).num_ack_pending;
    await eventually(async () => expect(await pending()).to.equal(1));
    const claimedSeq = (await info()).delivered.stream_seq;
    // A later trigger, answered in full meanwhile: the control plane records the answers in stream
    // order, so a .started sent for the first one would be in before this one's .finished.
    const later = taskTrigger('deliver');
    await h.publish(later);
    await eventually(() => expect(h.kinds(later.id)).to.deep.equal(['started', 'finished']));
    expect(h.kinds(trigger.id), 'no .started before the claim').to.deep.equal([]);
    expect((await info()).ack_floor.stream_seq, 'unacknowledged while claiming').to.be.below(claimedSeq);
    await eventually(async () => expect(await pending()).to.equal(1));
    decide();
    await eventually(() => expect(h.kinds(trigger.id)).to.deep.equal(['started', 'finished']));
    await eventually(async () => expect(await pending()).to.equal(0));
  });

  it('acknowledges a trigger another instance has claimed, and sends nothing for it', async () => {
    const trigger = taskTrigger('deliver');
    const handler: TaskHandler = {
      claim: async (event) => (event.id === trigger.id ? 'taken' : 'ours'),
      handle: async () => ({}),
    };
    const integration = h.integration({
      mode: {
        kind: 'nats',
        servers: h.nats.url,
        shipyardController: h.sim.url,
        jetstream: 'auto',
        reconnectTimeWaitMs: 50,
      },
    });
    await integration.handle('deliver', handler).start();
    await h.publish(trigger);
    const jsm = await jetstreamManager(h.nc);
    const consumer = JetStreamSource.durableName('gitops-service', 'sh.keptn.event.deliver.triggered');
    await eventually(async () =>
      expect((await jsm.consumers.info('keptn', consumer)).num_ack_pending).to.equal(0),
    );
    await eventually(async () =>
      expect((await jsm.consumers.info('keptn', consumer)).delivered.consumer_seq).to.equal(1),
    );
    // A later trigger this instance answers: what it sent for the taken one would be recorded first.
    const later = taskTrigger('deliver');
    await h.publish(later);
    await eventually(() => expect(h.kinds(later.id)).to.deep.equal(['started', 'finished']));
    expect(h.kinds(trigger.id)).to.deep.equal([]);
  });

  it('acknowledges the trigger of any other handler once its .started is sent', async () => {
    let finish = () => {};
    const integration = h.integration({
      mode: {
        kind: 'nats',
        servers: h.nats.url,
        shipyardController: h.sim.url,
        jetstream: 'auto',
        reconnectTimeWaitMs: 50,
      },
    });
    await integration.handle('deliver', () => new Promise((resolve) => (finish = () => resolve({})))).start();
    const trigger = taskTrigger('deliver');
    await h.publish(trigger);
    await eventually(() => expect(h.kinds(trigger.id)).to.deep.equal(['started']));
    const jsm = await jetstreamManager(h.nc);
    const consumer = JetStreamSource.durableName('gitops-service', 'sh.keptn.event.deliver.triggered');
    await eventually(async () =>
      expect((await jsm.consumers.info('keptn', consumer)).num_ack_pending).to.equal(0),
    );
    finish();
    await eventually(() => expect(h.kinds(trigger.id)).to.deep.equal(['started', 'finished']));
  });

  it('deletes the durable consumer of a removed subscription, so its backlog is not handed over if it comes back', async () => {
    const { parseKeptnEvent, silentLogger } = await import('../../../lib/index.js');
    const source = (await JetStreamSource.create('auto', {
      connection: h.nc,
      name: 'gitops-service',
      logger: silentLogger,
    }))!;
    const received: string[] = [];
    await source.start((m) => {
      const parsed = parseKeptnEvent(m.data);
      received.push(parsed.ok ? parsed.event.id : `unparsed on ${m.subject}`);
    });
    await source.setSubscriptions([
      { event: 'sh.keptn.event.deliver.triggered' },
      { event: 'sh.keptn.event.rollback.triggered' },
    ]);
    const jsm = await jetstreamManager(h.nc);
    const rollback = JetStreamSource.durableName('gitops-service', 'sh.keptn.event.rollback.triggered');
    const exists = (name: string) =>
      jsm.consumers.info('keptn', name).then(
        () => true,
        () => false,
      );
    expect(await exists(rollback)).to.equal(true);

    await source.setSubscriptions([{ event: 'sh.keptn.event.deliver.triggered' }]);
    expect(await exists(rollback)).to.equal(false);
    await h.publish(taskTrigger('rollback'));
    await source.setSubscriptions([
      { event: 'sh.keptn.event.deliver.triggered' },
      { event: 'sh.keptn.event.rollback.triggered' },
    ]);
    const subscribed = taskTrigger('rollback');
    await h.publish(subscribed);
    await eventually(() => expect(received).to.include(subscribed.id));
    // A consumer hands its messages out in stream order: one left from before would have come first.
    expect(received, 'only the trigger published while subscribed').to.deep.equal([subscribed.id]);
    expect(
      await exists(JetStreamSource.durableName('gitops-service', 'sh.keptn.event.deliver.triggered')),
    ).to.equal(true);
    await source.stop();
  });

  it('uses core NATS in auto mode when the server has no keptn stream', async () => {
    const jsm = await jetstreamManager(h.nc);
    await jsm.streams.delete('keptn');
    const source = await JetStreamSource.create('auto', {
      connection: h.nc,
      name: 'x',
      logger: (await import('../../../lib/index.js')).silentLogger,
    });
    expect(source).to.equal(undefined);
    const forced = await JetStreamSource.create('true', {
      connection: h.nc,
      name: 'x',
      logger: (await import('../../../lib/index.js')).silentLogger,
    });
    expect(forced?.kind).to.equal('jetstream');
    expect((await jsm.streams.info('keptn')).config.subjects).to.deep.equal(['sh.keptn.>']);
  });
});
