import { expect } from 'chai';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { NatsOutbox } from '../../../lib/transport/outbox.js';
import { eventually } from '../../support/eventually.js';
import { freeze } from '../../support/freeze.js';
import { NatsServer } from '../../support/nats-server.js';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('NatsOutbox', () => {
  let server: NatsServer;
  let nc: NatsConnection;
  beforeEach(async () => {
    server = await NatsServer.start();
    // No reconnect: a lost server closes the connection for good.
    nc = await connect({ servers: server.url, maxReconnectAttempts: 0 });
  });
  afterEach(async () => {
    if (server.pid) process.kill(server.pid, 'SIGCONT');
    if (!nc.isClosed()) await nc.close();
    await server.dispose();
  });

  it('is idle once what was queued is on the server', async () => {
    const outbox = new NatsOutbox(nc);
    const received: string[] = [];
    const sub = nc.subscribe('sh.keptn.event.deliver.finished', {
      callback: (_err, m) => {
        received.push(m.string());
      },
    });
    await nc.flush();
    const sent = [
      outbox.publish('sh.keptn.event.deliver.finished', bytes('a')),
      outbox.publish('sh.keptn.event.deliver.finished', bytes('b')),
    ];
    await outbox.idle();
    await Promise.all(sent);
    expect(outbox.stalledForMs()).to.equal(0);
    await eventually(() => expect(received).to.deep.equal(['a', 'b']));
    sub.unsubscribe();
    await outbox.idle();
  });

  it('keeps an answer while the server does not acknowledge, and rejects it, never sent, once the connection is closed for good', async () => {
    const outbox = new NatsOutbox(nc, { retryDelayMs: 10 });
    await freeze(server.pid!);
    const queued = outbox.publish('sh.keptn.event.deliver.finished', bytes('held'));
    const outcome = queued.then(
      () => 'sent',
      (err: Error) => err.message,
    );
    await eventually(() => expect(outbox.stalledForMs()).to.be.greaterThan(50));
    // Waiting for it to drain gives up with the caller's signal.
    await outbox.idle(AbortSignal.timeout(50));
    await server.stop();
    await nc.closed();
    expect(await outcome).to.match(/NATS connection (closed|was closed)/);
    expect(
      await outbox
        .publish('sh.keptn.event.deliver.finished', bytes('late'))
        .catch((err: Error) => err.message),
    ).to.equal('cannot publish sh.keptn.event.deliver.finished: the NATS connection is closed');
  });
});
