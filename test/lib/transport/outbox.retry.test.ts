import { expect } from 'chai';
import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import { NatsOutbox, UnpublishableError } from '../../../lib/transport/outbox.js';
import { eventually } from '../../support/eventually.js';

// The outbox's own bookkeeping (batches, retries, ordering, what it rejects) over a connection whose
// flushes the test decides; outbox.test.ts runs it against a real nats-server.

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

interface Written {
  subject: string;
  data: string;
  msgId?: string;
  withOptions: boolean;
}

/**
 * The part of a NatsConnection the outbox uses: `publish` refuses what is over the server's max_payload as
 * nats.js does; a flush fails while `failFlushes` > 0 and waits on `hold`.
 */
class ScriptedConnection {
  info?: { max_payload: number } = { max_payload: 1000 };
  closed = false;
  failFlushes = 0;
  flushes = 0;
  publishCalls = 0;
  hold?: Promise<void>;
  /** What the server has: messages written before a flush that succeeded. */
  readonly received: Written[] = [];
  private written: Written[] = [];

  isClosed(): boolean {
    return this.closed;
  }

  publish(subject: string, data: Uint8Array, options?: { headers?: MsgHdrs }): void {
    this.publishCalls++;
    const headerBytes = options?.headers
      ? (options.headers as MsgHdrs & { encode(): Uint8Array }).encode()
      : [];
    if (this.info && data.length + headerBytes.length > this.info.max_payload)
      throw new Error('payload: max_payload size exceeded');
    this.written.push({
      subject,
      data: text(data),
      msgId: options?.headers?.get('Nats-Msg-Id'),
      withOptions: options !== undefined,
    });
  }

  async flush(): Promise<void> {
    this.flushes++;
    await this.hold;
    const written = this.written.splice(0);
    // nats.js drops its outbound buffer when it re-dials: the batch never reached the server.
    if (this.failFlushes > 0) {
      this.failFlushes--;
      throw new Error('connection lost');
    }
    this.received.push(...written);
  }

  get nc(): NatsConnection {
    return this as unknown as NatsConnection;
  }
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

const outcome = (p: Promise<void>) =>
  p.then(
    () => 'sent',
    (err: Error) => err,
  );

describe('NatsOutbox over a scripted connection', () => {
  it('publishes in order and, when a flush fails, publishes the whole batch again after the retry delay', async () => {
    const c = new ScriptedConnection();
    c.failFlushes = 2;
    const outbox = new NatsOutbox(c.nc, { retryDelayMs: 30 });
    const since = Date.now();
    await Promise.all([outbox.publish('a.finished', bytes('a')), outbox.publish('b.finished', bytes('b'))]);
    expect(Date.now() - since).to.be.at.least(55);
    expect(c.received.map((w) => w.data)).to.deep.equal(['a', 'b']);
    // a alone (queued while nothing was in flight) twice in vain, then a, then b.
    expect(c.flushes).to.equal(4);
  });

  it('waits 50 ms before a retry by default', async () => {
    const c = new ScriptedConnection();
    c.failFlushes = 1;
    const outbox = new NatsOutbox(c.nc);
    const since = Date.now();
    await outbox.publish('a.finished', bytes('a'));
    expect(Date.now() - since).to.be.at.least(45);
    expect(c.received.map((w) => w.data)).to.deep.equal(['a']);
  });

  it('sends what was queued during a flush as the next batch, each event once, in order', async () => {
    const c = new ScriptedConnection();
    const held = gate();
    c.hold = held.promise;
    const outbox = new NatsOutbox(c.nc);
    const first = outcome(outbox.publish('s', bytes('1')));
    await eventually(() => c.flushes === 1);
    const rest = [outcome(outbox.publish('s', bytes('2'))), outcome(outbox.publish('s', bytes('3')))];
    held.open();
    expect(await Promise.all([first, ...rest])).to.deep.equal(['sent', 'sent', 'sent']);
    expect(c.received.map((w) => w.data)).to.deep.equal(['1', '2', '3']);
    expect(c.flushes).to.equal(2);
  });

  it('sends Nats-Msg-Id as a header only when there is one', async () => {
    const c = new ScriptedConnection();
    const outbox = new NatsOutbox(c.nc);
    await outbox.publish('with', bytes('x'), 'answer-1');
    await outbox.publish('without', bytes('y'));
    expect(c.received).to.deep.equal([
      { subject: 'with', data: 'x', msgId: 'answer-1', withOptions: true },
      { subject: 'without', data: 'y', msgId: undefined, withOptions: false },
    ]);
  });

  it("rejects at once an event over the server's max_payload, counting the header block, and sends the rest", async () => {
    const c = new ScriptedConnection();
    c.info = { max_payload: 100 };
    const outbox = new NatsOutbox(c.nc);
    // `NATS/1.0\r\nNats-Msg-Id: abc\r\n\r\n` is 30 bytes.
    const results = await Promise.all([
      outcome(outbox.publish('exact', bytes('x'.repeat(100)))),
      outcome(outbox.publish('over', bytes('x'.repeat(101)))),
      outcome(outbox.publish('exact-with-id', bytes('x'.repeat(70)), 'abc')),
      outcome(outbox.publish('over-with-id', bytes('x'.repeat(71)), 'abc')),
    ]);
    expect(results.slice(0, 1)).to.deep.equal(['sent']);
    expect(results[2]).to.equal('sent');
    for (const [i, subject] of [
      [1, 'over'],
      [3, 'over-with-id'],
    ] as const) {
      const err = results[i] as UnpublishableError;
      expect(err).to.be.instanceOf(UnpublishableError);
      expect(err).to.include({ name: 'UnpublishableError', subject, size: 101, limit: 100 });
      expect(err.message).to.equal(
        `${subject} is 101 bytes, over the NATS server's max_payload of 100 bytes`,
      );
    }
    expect(c.received.map((w) => w.subject)).to.deep.equal(['exact', 'exact-with-id']);
  });

  it('refuses an event over max_payload before queueing it: it is never written and waits for nothing', async () => {
    const c = new ScriptedConnection();
    c.info = { max_payload: 100 };
    const outbox = new NatsOutbox(c.nc);
    let refused: unknown;
    outbox.publish('over', bytes('x'.repeat(101))).catch((err: unknown) => (refused = err));
    await new Promise((r) => setImmediate(r));
    expect(refused).to.be.instanceOf(UnpublishableError);
    expect(c.publishCalls).to.equal(0);
    expect(outbox.stalledForMs()).to.equal(0);
  });

  it('takes any size while the server has not said its max_payload', async () => {
    const c = new ScriptedConnection();
    c.info = undefined;
    const outbox = new NatsOutbox(c.nc);
    await outbox.publish('big', bytes('x'.repeat(5000)));
    expect(c.received).to.have.length(1);
  });

  it('rejects the queued events a server that came back with a smaller max_payload will never take, and keeps the rest in order', async () => {
    const c = new ScriptedConnection();
    c.failFlushes = 1;
    const held = gate();
    c.hold = held.promise;
    const outbox = new NatsOutbox(c.nc, { retryDelayMs: 10 });
    // b goes out alone and is lost with the connection; c, a and d wait for the next batch.
    const results = [
      outcome(outbox.publish('b', bytes('x'.repeat(500)))),
      outcome(outbox.publish('c', bytes('x'.repeat(600)))),
      outcome(outbox.publish('a', bytes('x'.repeat(50)))),
      outcome(outbox.publish('d', bytes('x'.repeat(50)))),
    ];
    await eventually(() => c.flushes === 1);
    c.info = { max_payload: 100 };
    held.open();
    const [b, cc, a, d] = await Promise.all(results);
    expect([a, d]).to.deep.equal(['sent', 'sent']);
    expect(b).to.be.instanceOf(UnpublishableError).and.include({ subject: 'b', size: 500, limit: 100 });
    expect(cc).to.be.instanceOf(UnpublishableError).and.include({ subject: 'c', size: 600, limit: 100 });
    expect(c.received.map((w) => w.subject)).to.deep.equal(['a', 'd']);
    expect(outbox.stalledForMs()).to.equal(0);
  });

  it('says how long the oldest queued event has waited', async () => {
    const c = new ScriptedConnection();
    const held = gate();
    c.hold = held.promise;
    const outbox = new NatsOutbox(c.nc);
    expect(outbox.stalledForMs()).to.equal(0);
    const queuedAt = Date.now();
    const sent = outbox.publish('s', bytes('1'));
    expect(outbox.stalledForMs(queuedAt + 5000)).to.be.within(4990, 5000);
    held.open();
    await sent;
    expect(outbox.stalledForMs(queuedAt + 5000)).to.equal(0);
  });

  it('is idle at once with nothing queued, otherwise once the queue is flushed or the signal aborts', async () => {
    const c = new ScriptedConnection();
    const outbox = new NatsOutbox(c.nc);
    await outbox.idle();
    const held = gate();
    c.hold = held.promise;
    const sent = outbox.publish('s', bytes('1'));
    let idle = false;
    const waiting = outbox.idle().then(() => (idle = true));
    await outbox.idle(AbortSignal.timeout(20));
    expect(idle).to.equal(false);
    held.open();
    await waiting;
    await sent;
    expect(c.received).to.have.length(1);
  });

  it('rejects everything queued, and is idle, once the connection is closed for good; later publishes fail at once', async () => {
    const c = new ScriptedConnection();
    c.failFlushes = 1;
    const held = gate();
    c.hold = held.promise;
    const outbox = new NatsOutbox(c.nc, { retryDelayMs: 10 });
    const results = [outcome(outbox.publish('a', bytes('1'))), outcome(outbox.publish('b', bytes('2')))];
    await eventually(() => c.flushes === 1);
    const idle = outbox.idle();
    c.closed = true;
    held.open();
    const errors = (await Promise.all(results)) as Error[];
    expect(errors.map((e) => e.message)).to.deep.equal([
      'the NATS connection closed: a was not published',
      'the NATS connection closed: b was not published',
    ]);
    await idle;
    expect(c.received).to.deep.equal([]);
    const late = (await outcome(outbox.publish('c', bytes('3')))) as Error;
    expect(late.message).to.equal('cannot publish c: the NATS connection is closed');
  });

  it('rejects what is still queued when the transport closes it', async () => {
    const c = new ScriptedConnection();
    const held = gate();
    c.hold = held.promise;
    const outbox = new NatsOutbox(c.nc);
    const queued = outcome(outbox.publish('a', bytes('1')));
    outbox.failAll('the NATS connection was closed');
    expect(((await queued) as Error).message).to.equal('the NATS connection was closed: a was not published');
    held.open();
  });
});
