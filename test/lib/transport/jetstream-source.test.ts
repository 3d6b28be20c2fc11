import { expect } from 'chai';
import { jetstreamManager } from '@nats-io/jetstream';
import { JetStreamSource } from '../../../lib/index.js';
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
    const first = h.integration({ mode: { kind: 'nats', servers: h.nats.url, shipyardController: h.sim.url, jetstream: 'auto', reconnectTimeWaitMs: 50 } });
    await first.handle('deliver', async () => ({})).start();
    const live = taskTrigger('deliver');
    await h.publish(live);
    await eventually(() => expect(h.kinds(live.id)).to.deep.equal(['started', 'finished']));
    await first.stop({ deadlineMs: 500 });

    const missed = [taskTrigger('deliver'), taskTrigger('deliver')];
    for (const t of missed) await h.publish(t);
    const second = h.integration({ mode: { kind: 'nats', servers: h.nats.url, shipyardController: h.sim.url, jetstream: 'auto', reconnectTimeWaitMs: 50 } });
    await second.handle('deliver', async () => ({})).start();
    for (const t of missed) await eventually(() => expect(h.kinds(t.id)).to.deep.equal(['started', 'finished']));
    expect(h.kinds(live.id)).to.deep.equal(['started', 'finished']);
    const jsm = await jetstreamManager(h.nc);
    const info = await jsm.consumers.info('keptn', JetStreamSource.durableName('gitops-service', 'sh.keptn.event.deliver.triggered'));
    await eventually(async () => (await jsm.consumers.info('keptn', info.name)).num_ack_pending === 0);
  });

  it('uses core NATS in auto mode when the server has no keptn stream', async () => {
    const jsm = await jetstreamManager(h.nc);
    await jsm.streams.delete('keptn');
    const source = await JetStreamSource.create('auto', { connection: h.nc, name: 'x', logger: (await import('../../../lib/index.js')).silentLogger });
    expect(source).to.equal(undefined);
    const forced = await JetStreamSource.create('true', { connection: h.nc, name: 'x', logger: (await import('../../../lib/index.js')).silentLogger });
    expect(forced?.kind).to.equal('jetstream');
    expect((await jsm.streams.info('keptn')).config.subjects).to.deep.equal(['sh.keptn.>']);
  });
});
