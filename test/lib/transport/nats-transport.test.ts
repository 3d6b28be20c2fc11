import { expect } from 'chai';
import { jetstreamManager } from '@nats-io/jetstream';
import {
  createFinishedEvent,
  createStartedEvent,
  NatsTransport,
  silentLogger,
  type ParentEvent,
} from '../../../lib/index.js';
import { NatsHarness, taskTrigger } from '../harness.js';

describe('NatsTransport', () => {
  let h: NatsHarness;
  let transport: NatsTransport | undefined;
  beforeEach(async () => {
    h = await NatsHarness.start({ jetstream: true });
  });
  afterEach(async () => {
    await transport?.close(1000);
    await h.dispose();
  });

  it('sends an answer again (after a crash, or replayed by the outbox) without the keptn stream storing it twice', async () => {
    const jsm = await jetstreamManager(h.nc);
    await jsm.streams.add({ name: 'keptn', subjects: ['sh.keptn.>'] });
    transport = await NatsTransport.connect({
      servers: h.nats.url,
      name: 'gitops-service',
      logger: silentLogger,
    });
    const trigger = taskTrigger('deliver');
    const parent: ParentEvent = {
      type: trigger.type,
      id: trigger.id,
      shkeptncontext: trigger.shkeptncontext,
      data: trigger.data,
    };
    const other = taskTrigger('deliver');
    for (const event of [
      createStartedEvent(parent, 'gitops-service'),
      createStartedEvent(parent, 'gitops-service'),
      createFinishedEvent(parent, 'gitops-service', {}),
      createFinishedEvent(parent, 'gitops-service', {}),
    ]) {
      await transport.publish(event);
    }
    // Another executor answering the same trigger is not a repeat; neither is another trigger.
    await transport.publish(createStartedEvent(parent, 'another-service'));
    await transport.publish(createStartedEvent({ ...parent, id: other.id }, 'gitops-service'));
    expect((await jsm.streams.info('keptn')).state.messages).to.equal(4);
  });
});
