import { expect } from 'chai';
import { DEFER_FINISHED, SHUTDOWN_MESSAGE, type KeptnEvent, type TaskHandler } from '../../../lib/index.js';
import { UnpublishableError } from '../../../lib/transport/outbox.js';
import { eventually } from '../../support/eventually.js';
import { taskTrigger } from '../harness.js';
import { deferred, startLoop } from './in-memory-transport.js';

// The loop's own protocol (what it answers, in which order, what it acknowledges, logs and counts) over
// an in-memory source and sink; event-loop.nats.test.ts runs it over a real nats-server.

const temporaryData = (event: KeptnEvent | undefined) => event?.data.temporaryData as Record<string, any>;
const kind = (event: KeptnEvent) => event.type.split('.').pop()!;

describe('EventLoop protocol over an in-memory transport', () => {
  describe('answering a trigger', () => {
    it('sends one .started then one .finished carrying the trigger context, and acknowledges once the .started is out', async () => {
      const t = await startLoop();
      let seen: KeptnEvent | undefined;
      let activeDuringHandler = -1;
      t.loop.handle('deliver', async (event) => {
        seen = event;
        activeDuringHandler = await t.metric('keptn_handlers_active');
        return { message: 'deployed' };
      });
      const trigger = taskTrigger('deliver');
      const delivery = t.source.send(trigger);
      await t.loop.stop();

      expect(t.sink.kinds(trigger.id)).to.deep.equal(['started', 'finished']);
      const [started, finished] = t.sink.answers(trigger.id);
      for (const answer of [started!, finished!])
        expect(answer).to.include({
          source: 'gitops-service',
          shkeptncontext: trigger.shkeptncontext,
          triggeredid: trigger.id,
          gitcommitid: 'f00dcafe',
        });
      expect(started!.type).to.equal('sh.keptn.event.deliver.started');
      expect(started!.data).to.deep.equal({
        project: 'sockshop',
        stage: 'dev',
        service: 'carts',
        labels: { l: 'v' },
      });
      expect(finished!.type).to.equal('sh.keptn.event.deliver.finished');
      expect(finished!.data).to.deep.include({ status: 'succeeded', result: 'pass', message: 'deployed' });
      expect(delivery.acks).to.equal(1);
      // No subscription list: nothing to name in the distributor data.
      expect(seen!.data.temporaryData).to.equal(undefined);

      expect(t.logged('accepted a task trigger')[0]!.meta).to.deep.include({
        shkeptncontext: trigger.shkeptncontext,
        eventId: trigger.id,
        type: trigger.type,
        task: 'deliver',
        project: 'sockshop',
        stage: 'dev',
        service: 'carts',
      });
      expect(t.logged('sent .finished')[0]!.meta).to.deep.include({
        shkeptncontext: trigger.shkeptncontext,
        triggeredid: trigger.id,
        task: 'deliver',
        status: 'succeeded',
        result: 'pass',
      });
      expect(await t.metric('keptn_events_received_total', { type: trigger.type })).to.equal(1);
      expect(
        await t.metric('keptn_events_handled_total', {
          task: 'deliver',
          status: 'succeeded',
          result: 'pass',
        }),
      ).to.equal(1);
      expect(await t.metric('keptn_handler_duration_seconds', { task: 'deliver' })).to.equal(1);
      expect(activeDuringHandler).to.equal(1);
      expect(await t.metric('keptn_handlers_active')).to.equal(0);
    });

    it('answers a handler that returns nothing as succeeded/pass', async () => {
      const t = await startLoop();
      t.loop.handle('deliver', async () => undefined);
      const trigger = taskTrigger('deliver');
      t.source.send(trigger);
      await t.loop.stop();
      expect(t.sink.answers(trigger.id)[1]!.data).to.include({ status: 'succeeded', result: 'pass' });
    });

    it('starts the work only once the .started reached the broker, however slow that is; the .finished after it', async () => {
      const t = await startLoop();
      const startedAccepted = deferred();
      t.sink.accept = (e) => (e.type.endsWith('.started') ? startedAccepted.promise : undefined);
      let handled = false;
      t.loop.handle('deliver', async () => void (handled = true));
      const trigger = taskTrigger('deliver');
      t.source.send(trigger);
      await eventually(() =>
        expect(t.sink.attempts.map((e) => e.type)).to.deep.equal(['sh.keptn.event.deliver.started']),
      );
      for (let turn = 0; turn < 3; turn++) await new Promise((r) => setImmediate(r));
      expect(handled, 'handler ran before the .started was accepted').to.equal(false);
      startedAccepted.resolve();
      await t.loop.stop();
      expect(handled).to.equal(true);
      expect(t.sink.kinds(trigger.id)).to.deep.equal(['started', 'finished']);
    });

    it('prefers the handler registered for the task over the catch-all, which takes every other task', async () => {
      const t = await startLoop();
      const calls: string[] = [];
      const catchAll: TaskHandler = { handle: async (e) => void calls.push(`* ${e.type}`) };
      t.loop.handle('*', catchAll).handle('deliver', async (e) => void calls.push(`deliver ${e.type}`));
      const deliver = taskTrigger('deliver');
      const test = taskTrigger('test');
      t.source.send(deliver);
      t.source.send(test);
      await t.loop.stop();
      expect(calls.sort()).to.deep.equal([
        '* sh.keptn.event.test.triggered',
        'deliver sh.keptn.event.deliver.triggered',
      ]);
      expect(t.sink.kinds(test.id)).to.deep.equal(['started', 'finished']);
      expect(t.sink.answers(test.id)[0]!.type).to.equal('sh.keptn.event.test.started');
    });

    it('runs afterFinished callbacks in order once the .finished is out, past one that fails', async () => {
      const t = await startLoop();
      const order: string[] = [];
      t.sink.accept = (e) => void order.push(`published ${e.type.split('.').pop()}`);
      t.loop.handle('deliver', async (_e, ctx) => {
        ctx.afterFinished(() => {
          order.push('first');
          throw new Error('record gone');
        });
        ctx.afterFinished(async () => void order.push('second'));
        return {};
      });
      t.source.send(taskTrigger('deliver'));
      await t.loop.stop();
      expect(order).to.deep.equal(['published started', 'published finished', 'first', 'second']);
      expect(t.logged('an afterFinished callback failed')[0]!.meta).to.include({
        error: 'record gone',
        task: 'deliver',
      });
    });
  });

  describe('messages it does not answer', () => {
    it('drops a message that is not a Keptn event with a warning, counts it and acknowledges it', async () => {
      const t = await startLoop();
      t.loop.handle('deliver', async () => ({}));
      const junk = t.source.send('{not json', { subject: 'sh.keptn.event.deliver.triggered' });
      // A source without acknowledgements (core NATS) hands the same junk over without an ack.
      expect(() => t.source.send('{not json', { ack: false })).not.to.throw();
      await t.loop.stop();
      expect(junk.acks).to.equal(1);
      expect(t.sink.published).to.deep.equal([]);
      const [warning] = t.logged('dropped a message that is not a Keptn event');
      expect(warning!.level).to.equal('warn');
      expect(warning!.meta).to.include({
        subject: 'sh.keptn.event.deliver.triggered',
        reason: 'invalid-json',
      });
      expect(warning!.meta.error).to.match(/not JSON/);
      expect(await t.metric('keptn_events_rejected_total', { reason: 'invalid-json' })).to.equal(2);
      expect(await t.metric('keptn_events_received_total')).to.equal(0);
    });

    it('acknowledges and skips, at debug level and uncounted, answers, unhandled tasks and unsubscribed triggers', async () => {
      const t = await startLoop();
      t.loop.handle('deliver', async () => ({}));
      await t.loop.setSubscriptions([
        { event: 'sh.keptn.event.deliver.triggered', filter: { projects: ['podtato'] } },
      ]);
      const finished = taskTrigger('deliver', {}, { type: 'sh.keptn.event.deliver.finished' });
      const unhandled = taskTrigger('evaluation');
      const unsubscribed = taskTrigger('deliver');
      const acks = [
        t.source.send(finished),
        t.source.send(unhandled),
        t.source.send(unsubscribed),
        // Answered by the podtato subscription, so the others were skipped on their own merits.
        t.source.send(taskTrigger('deliver', { project: 'podtato' })),
        // The same trigger without acknowledgement: skipping it must not need one.
        t.source.send(taskTrigger('deliver', {}, { type: 'sh.keptn.event.deliver.finished' }), {
          ack: false,
        }),
        t.source.send(taskTrigger('evaluation'), { ack: false }),
        t.source.send(taskTrigger('deliver'), { ack: false }),
      ].map((d) => d.acks);
      await t.loop.stop();
      expect(acks).to.deep.equal([1, 1, 1, 0, 0, 0, 0]);
      expect(t.sink.published.map((e) => e.data.project)).to.deep.equal(['podtato', 'podtato']);
      expect(t.logged('not a task trigger; skipped')[0]!.level).to.equal('debug');
      expect(t.logged('no handler for this task; skipped')[0]!.meta).to.include({
        task: 'evaluation',
        eventId: unhandled.id,
      });
      expect(t.logged('no subscription filter matches the event; skipped')[0]!.meta).to.include({
        subject: 'sh.keptn.event.deliver.triggered',
        eventId: unsubscribed.id,
      });
      expect(await t.metric('keptn_events_rejected_total')).to.equal(0);
      expect(await t.metric('keptn_events_received_total')).to.equal(7);
    });

    it('rejects, with a warning and a count, a trigger without id or shkeptncontext', async () => {
      const t = await startLoop();
      t.loop.handle('deliver', async () => ({}));
      const noId = taskTrigger('deliver', {}, { id: '' });
      const noContext = taskTrigger('deliver', {}, { shkeptncontext: undefined });
      const acks = [t.source.send(noId), t.source.send(noContext)].map((d) => d.acks);
      await t.loop.stop();
      expect(acks).to.deep.equal([1, 1]);
      expect(t.sink.published).to.deep.equal([]);
      const warnings = t.logged('a task trigger without id or shkeptncontext cannot be answered');
      expect(warnings.map((w) => [w.level, w.meta.reason])).to.deep.equal([
        ['warn', 'missing-field'],
        ['warn', 'missing-field'],
      ]);
      expect(await t.metric('keptn_events_rejected_total', { reason: 'missing-field' })).to.equal(2);
    });

    it('rejects a trigger without project, stage or service (empty or not a string), naming what is missing', async () => {
      const t = await startLoop();
      t.loop.handle('deliver', async () => ({}));
      await t.loop.setSubscriptions([{ event: 'sh.keptn.event.deliver.triggered' }]);
      t.source.send(taskTrigger('deliver', { stage: '', service: undefined }));
      t.source.send(taskTrigger('deliver', { project: 42 }));
      const good = taskTrigger('deliver');
      t.source.send(good);
      await t.loop.stop();
      expect(t.sink.published.map((e) => e.triggeredid)).to.deep.equal([good.id, good.id]);
      expect(t.log.filter((e) => e.level === 'warn').map((e) => [e.message, e.meta.reason])).to.deep.equal([
        [
          'a task trigger without stage, service cannot be answered (Keptn ignores such answers)',
          'missing-scope',
        ],
        ['a task trigger without project cannot be answered (Keptn ignores such answers)', 'missing-scope'],
      ]);
      expect(await t.metric('keptn_events_rejected_total', { reason: 'missing-scope' })).to.equal(2);
    });

    it('answers a trigger delivered twice once, counting and acknowledging the duplicate', async () => {
      const t = await startLoop();
      let calls = 0;
      t.loop.handle('deliver', async () => void calls++);
      const trigger = taskTrigger('deliver');
      const first = t.source.send(trigger);
      const second = t.source.send(trigger);
      await t.loop.stop();
      expect(t.sink.kinds(trigger.id)).to.deep.equal(['started', 'finished']);
      expect(calls).to.equal(1);
      expect([first.acks, second.acks]).to.deep.equal([1, 1]);
      expect(t.logged('duplicate delivery of a trigger already taken; skipped')[0]!.meta).to.include({
        reason: 'duplicate',
        eventId: trigger.id,
      });
      expect(await t.metric('keptn_events_rejected_total', { reason: 'duplicate' })).to.equal(1);
    });

    it('remembers only the last dedupeCapacity trigger ids', async () => {
      const t = await startLoop({ dedupeCapacity: 2 });
      t.loop.handle('deliver', async () => ({}));
      const [a, b, c] = [taskTrigger('deliver'), taskTrigger('deliver'), taskTrigger('deliver')];
      for (const trigger of [a!, b!, c!, c!, a!]) t.source.send(trigger);
      await t.loop.stop();
      expect(t.sink.kinds(c!.id)).to.deep.equal(['started', 'finished']);
      // Forgotten after b and c, a is answered again (the two deliveries overlap).
      expect(t.sink.kinds(a!.id).sort()).to.deep.equal(['finished', 'finished', 'started', 'started']);
    });

    it('does not answer a trigger marked as taken elsewhere with ignore()', async () => {
      const t = await startLoop();
      t.loop.handle('deliver', async () => ({}));
      const trigger = taskTrigger('deliver');
      t.loop.ignore(trigger.id);
      t.source.send(trigger);
      await t.loop.stop();
      expect(t.sink.published).to.deep.equal([]);
      expect(await t.metric('keptn_events_rejected_total', { reason: 'duplicate' })).to.equal(1);
    });
  });

  describe('subscriptions', () => {
    it('hands them to the source and names the first matching one in the trigger the handler sees', async () => {
      const t = await startLoop();
      const seen: KeptnEvent[] = [];
      t.loop.handle('*', async (event) => void seen.push(event));
      const subscriptions = [
        { id: 'test-sub', event: 'sh.keptn.event.test.triggered' },
        { id: 'podtato-sub', event: 'sh.keptn.event.deliver.triggered', filter: { projects: ['podtato'] } },
        { id: 'deliver-sub', event: 'sh.keptn.event.deliver.triggered' },
        { id: 'later-sub', event: 'sh.keptn.event.deliver.triggered' },
        { event: 'sh.keptn.event.evaluation.triggered' },
      ];
      await t.loop.setSubscriptions(subscriptions);
      expect(t.source.subscriptionUpdates).to.deep.equal([subscriptions]);
      expect(t.loop.subscribed).to.deep.equal(subscriptions);

      t.source.send(taskTrigger('deliver', { temporaryData: { distributor: { kind: 'nats' }, other: 1 } }));
      t.source.send(taskTrigger('evaluation'));
      // A source that knows the subscription (HTTP polling) says so itself.
      t.source.send(taskTrigger('deliver', { project: 'unlisted' }), { subscriptionId: 'polled-sub' });
      await t.loop.stop();
      expect(seen.map(temporaryData)).to.deep.equal([
        { distributor: { kind: 'nats', subscriptionID: 'deliver-sub' }, other: 1 },
        undefined,
        { distributor: { subscriptionID: 'polled-sub' } },
      ]);
    });
  });

  describe('claims', () => {
    it('sends nothing for a trigger another instance claimed, counting and acknowledging it', async () => {
      const t = await startLoop();
      let handled = 0;
      t.loop.handle('deliver', {
        claim: async () => 'taken',
        handle: async () => void handled++,
      });
      const trigger = taskTrigger('deliver');
      const delivery = t.source.send(trigger);
      await t.loop.stop();
      expect(t.sink.published).to.deep.equal([]);
      expect(handled).to.equal(0);
      expect(delivery.acks).to.equal(1);
      const [line] = t.logged('another instance answers this trigger (its claim exists); sending nothing');
      expect(line!.level).to.equal('info');
      expect(line!.meta).to.include({ reason: 'taken', eventId: trigger.id });
      expect(await t.metric('keptn_events_rejected_total', { reason: 'taken' })).to.equal(1);
    });

    it('claims, sends .started, lets the handler record it, acknowledges, then runs the work and sends .finished', async () => {
      const t = await startLoop();
      const order: string[] = [];
      t.sink.accept = (e) => void order.push(`published ${kind(e)}`);
      const trigger = taskTrigger('deliver');
      t.loop.handle('deliver', {
        claim: async (event, signal) => {
          order.push(`claimed ${event.id === trigger.id} aborted=${signal.aborted}`);
          return 'ours';
        },
        // A slow record (a Kubernetes write): the work waits for it, so a crash after the tool was
        // triggered finds the record started.
        started: async (event) => {
          await new Promise((r) => setTimeout(r, 20));
          order.push(`recorded ${event.id === trigger.id}`);
        },
        handle: async () => void order.push('handled'),
      });
      t.source.send(trigger, { onAck: () => order.push('acked') });
      await t.loop.stop();
      expect(order).to.deep.equal([
        'claimed true aborted=false',
        'published started',
        'recorded true',
        'acked',
        'handled',
        'published finished',
      ]);
    });

    it('answers a trigger whose claim fails with .started and an errored .finished, without running the handler', async () => {
      const t = await startLoop({ errorLog: { log: async () => {} } });
      const calls: string[] = [];
      t.loop.handle('deliver', {
        claim: async () => {
          throw new Error('kube-apiserver: 503');
        },
        started: async () => void calls.push('started hook'),
        handle: async () => void calls.push('handle'),
      });
      const trigger = taskTrigger('deliver');
      const delivery = t.source.send(trigger);
      await t.loop.stop();
      expect(t.sink.kinds(trigger.id)).to.deep.equal(['started', 'finished']);
      expect(t.sink.answers(trigger.id)[1]!.data).to.include({
        status: 'errored',
        result: 'fail',
        message: 'kube-apiserver: 503',
      });
      expect(calls).to.deep.equal([]);
      expect(delivery.acks).to.equal(1);
      const [line] = t.logged('could not claim the trigger; answering it as errored');
      expect(line!.level).to.equal('error');
      expect(line!.meta).to.include({ error: 'kube-apiserver: 503', eventId: trigger.id });
    });

    it('answers a claim that throws something other than an Error with its text', async () => {
      const t = await startLoop();
      t.loop.handle('deliver', {
        claim: () => Promise.reject('conflict'),
        handle: async () => ({}),
      });
      const trigger = taskTrigger('deliver');
      t.source.send(trigger);
      await t.loop.stop();
      expect(t.sink.answers(trigger.id)[1]!.data).to.include({ status: 'errored', message: 'conflict' });
    });

    it('leaves a trigger whose claim was cut short by shutdown unanswered and unacknowledged, for redelivery', async () => {
      const t = await startLoop({ abortGraceMs: 1000 });
      t.loop.handle('deliver', {
        claim: (_event, signal) =>
          new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
        handle: async () => ({}),
      });
      const delivery = t.source.send(taskTrigger('deliver'));
      await t.loop.stop({ deadlineMs: 20 });
      expect(t.sink.published).to.deep.equal([]);
      expect(delivery.acks).to.equal(0);
      expect(
        t.logged('shut down before the trigger was claimed; left unanswered for redelivery'),
      ).to.have.length(1);
      expect(t.logged('the handler did not return after abort; finishing it as errored')).to.deep.equal([]);
    });

    it('still finishes a delivery whose .started could not be recorded, and says what that risks', async () => {
      const t = await startLoop();
      t.loop.handle('deliver', {
        claim: async () => 'ours',
        started: async () => {
          throw new Error('conflict writing the record');
        },
        handle: async () => ({}),
      });
      const trigger = taskTrigger('deliver');
      const delivery = t.source.send(trigger);
      await t.loop.stop();
      expect(t.sink.kinds(trigger.id)).to.deep.equal(['started', 'finished']);
      expect(delivery.acks).to.equal(1);
      const [line] = t.logged(
        'sent .started but could not record it; a replica finishing this delivery after a crash would send it again',
      );
      expect(line!.level).to.equal('warn');
      expect(line!.meta).to.include({ error: 'conflict writing the record', eventId: trigger.id });
    });
  });

  describe('failures', () => {
    it('answers a throwing handler errored/fail with its message and forwards it to the error log', async () => {
      const entries: unknown[] = [];
      const t = await startLoop({
        errorLog: { log: async (e) => void entries.push(...e) },
        integrationId: () => 'integration-1',
      });
      t.loop.handle('deliver', async () => {
        throw new Error('argocd sync refused: 403');
      });
      const trigger = taskTrigger('deliver');
      t.source.send(trigger);
      await t.loop.stop();
      const finished = t.sink.answers(trigger.id)[1]!;
      expect(finished.data).to.include({
        status: 'errored',
        result: 'fail',
        message: 'argocd sync refused: 403',
      });
      expect(t.logged('the handler failed')[0]!.meta).to.include({
        error: 'argocd sync refused: 403',
        triggeredid: trigger.id,
      });
      expect(entries).to.deep.equal([
        {
          integrationid: 'integration-1',
          message: 'argocd sync refused: 403',
          time: finished.time,
          shkeptncontext: trigger.shkeptncontext,
          task: 'deliver',
          triggeredid: trigger.id,
          gitcommitid: 'f00dcafe',
        },
      ]);
      expect(
        await t.metric('keptn_events_handled_total', { task: 'deliver', status: 'errored', result: 'fail' }),
      ).to.equal(1);
    });

    it('forwards an errored result without integration id or commit as such, and only errored ones', async () => {
      const entries: object[] = [];
      const t = await startLoop({ errorLog: { log: async (e) => void entries.push(...e) } });
      t.loop.handle('deliver', async (event) =>
        event.data.service === 'ok' ? {} : { status: 'errored', result: 'fail' },
      );
      const errored = taskTrigger('deliver', {}, { gitcommitid: undefined });
      t.source.send(errored);
      t.source.send(taskTrigger('deliver', { service: 'ok' }));
      await t.loop.stop();
      expect(entries).to.have.length(1);
      expect(entries[0]).to.include({ integrationid: '', message: '', triggeredid: errored.id });
      expect(entries[0]).not.to.have.property('gitcommitid');
    });

    it('logs an error log that could not be forwarded', async () => {
      const t = await startLoop({
        errorLog: {
          log: async () => {
            throw new Error('shipyard down');
          },
        },
      });
      t.loop.handle('deliver', async () => {
        throw new Error('boom');
      });
      const trigger = taskTrigger('deliver');
      t.source.send(trigger);
      await t.loop.stop();
      await eventually(() => t.logged('could not forward the error log').length === 1);
      expect(t.logged('could not forward the error log')[0]!.meta).to.include({
        error: 'shipyard down',
        triggeredid: trigger.id,
      });
    });

    it('answers a handler that rejects with a string or with nothing', async () => {
      const t = await startLoop();
      t.loop.handle('deliver', (event) =>
        Promise.reject(event.data.service === 'none' ? undefined : 'no sync'),
      );
      const text = taskTrigger('deliver');
      const nothing = taskTrigger('deliver', { service: 'none' });
      t.source.send(text);
      t.source.send(nothing);
      await t.loop.stop();
      expect(t.sink.answers(text.id)[1]!.data).to.include({ status: 'errored', message: 'no sync' });
      expect(t.sink.answers(nothing.id)[1]!.data).to.include({ status: 'errored', message: 'undefined' });
    });

    it('still sends the .finished when the .started could not be sent, logs why, and does not acknowledge', async () => {
      const t = await startLoop();
      t.sink.accept = (e) => {
        if (e.type.endsWith('.started')) throw new Error('connection closed');
      };
      t.loop.handle('deliver', async () => ({}));
      const trigger = taskTrigger('deliver');
      const delivery = t.source.send(trigger);
      await t.loop.stop();
      expect(t.sink.kinds(trigger.id)).to.deep.equal(['finished']);
      expect(delivery.acks).to.equal(0);
      const [line] = t.logged('could not send .started');
      expect(line!.level).to.equal('error');
      expect(line!.meta).to.include({ error: 'connection closed', eventId: trigger.id });
    });

    it('logs a .finished that could not be sent with its status, does not count it as handled nor retry it', async () => {
      const entries: unknown[] = [];
      const t = await startLoop({ errorLog: { log: async (e) => void entries.push(...e) } });
      t.sink.accept = (e) => {
        if (e.type.endsWith('.finished')) throw new Error('connection closed');
      };
      t.loop.handle('deliver', async () => {
        throw new Error('boom');
      });
      const trigger = taskTrigger('deliver');
      t.source.send(trigger);
      await t.loop.stop();
      expect(t.sink.attempts.map(kind)).to.deep.equal(['started', 'finished']);
      const [line] = t.logged('could not send .finished');
      expect(line!.level).to.equal('error');
      expect(line!.meta).to.include({
        error: 'connection closed',
        status: 'errored',
        result: 'fail',
        triggeredid: trigger.id,
      });
      expect(t.logged('sent .finished')).to.deep.equal([]);
      expect(await t.metric('keptn_events_handled_total')).to.equal(0);
      expect(entries).to.deep.equal([]);
    });
  });

  describe('answers over the broker max_payload', () => {
    const limit = 1000;
    /** Refuses what the broker would never take; `refuse` adds refusals whatever the size. */
    const overLimit =
      (refuse: (e: KeptnEvent) => boolean = () => false) =>
      (e: KeptnEvent) => {
        const size = JSON.stringify(e).length;
        if (size > limit || refuse(e)) throw new UnpublishableError(e.type, size, limit);
      };

    it('sends a .started without the trigger labels and a .finished with only the scope, saying why', async () => {
      const t = await startLoop();
      t.sink.accept = overLimit();
      t.loop.handle('deliver', async () => ({ message: 'y'.repeat(limit) }));
      const trigger = taskTrigger('deliver', { labels: { big: 'x'.repeat(limit) } });
      t.source.send(trigger);
      await t.loop.stop();
      const [started, finished] = t.sink.answers(trigger.id);
      expect(started!.data).to.deep.equal({ project: 'sockshop', stage: 'dev', service: 'carts' });
      expect(finished!.data).to.deep.equal({
        project: 'sockshop',
        stage: 'dev',
        service: 'carts',
        status: 'errored',
        result: 'fail',
        message:
          'the .finished (status succeeded, result pass) was too large for the event broker; its data was dropped',
      });
      const lines = t.logged('an answer can never be published as it is; sending it reduced');
      expect(lines.map((l) => [l.level, l.meta.type, l.meta.reduction, l.meta.maxPayload])).to.deep.equal([
        ['error', 'sh.keptn.event.deliver.started', 'without labels', limit],
        ['error', 'sh.keptn.event.deliver.finished', 'without labels', limit],
        ['error', 'sh.keptn.event.deliver.finished', 'scope only', limit],
      ]);
      expect(lines[0]!.meta.size).to.be.greaterThan(limit);
      expect(lines[0]!.meta.triggeredid ?? lines[0]!.meta.eventId).to.equal(trigger.id);
      expect(
        await t.metric('keptn_events_unpublishable_total', { type: 'sh.keptn.event.deliver.started' }),
      ).to.equal(1);
      expect(
        await t.metric('keptn_events_unpublishable_total', { type: 'sh.keptn.event.deliver.finished' }),
      ).to.equal(1);
      expect(
        await t.metric('keptn_events_handled_total', { task: 'deliver', status: 'errored', result: 'fail' }),
      ).to.equal(1);
    });

    it('reduces a .started to the scope only, without a status', async () => {
      const t = await startLoop();
      let refusals = 2;
      t.sink.accept = overLimit((e) => e.type.endsWith('.started') && refusals-- > 0);
      t.loop.handle('deliver', async () => ({}));
      const trigger = taskTrigger('deliver');
      t.source.send(trigger);
      await t.loop.stop();
      expect(t.sink.answers(trigger.id)[0]!.data).to.deep.equal({
        project: 'sockshop',
        stage: 'dev',
        service: 'carts',
      });
    });

    it('gives up on an answer the broker refuses even with only the scope, and on any other error at once', async () => {
      const t = await startLoop();
      t.sink.accept = overLimit((e) => e.data.service === 'refused');
      t.loop.handle('deliver', async () => ({}));
      const refused = taskTrigger('deliver', { service: 'refused' });
      t.source.send(refused);
      await t.loop.stop();
      expect(t.sink.answers(refused.id)).to.deep.equal([]);
      expect(t.sink.attempts.map(kind)).to.deep.equal([
        'started',
        'started',
        'started',
        'finished',
        'finished',
        'finished',
      ]);
      expect(t.logged('could not send .finished')[0]!.meta.error).to.match(
        /over the NATS server's max_payload/,
      );
    });
  });

  describe('shutdown', () => {
    it('stops intake, lets a running handler finish within the deadline, then closes the sink with the time left', async () => {
      const t = await startLoop();
      const release = deferred();
      t.loop.handle('deliver', async () => {
        await release.promise;
        return { message: 'done' };
      });
      const trigger = taskTrigger('deliver');
      t.source.send(trigger);
      const stopped = t.loop.stop({ deadlineMs: 5000 });
      expect(t.source.stops).to.equal(1);
      await new Promise((r) => setTimeout(r, 50));
      expect(t.sink.closes).to.deep.equal([]);
      release.resolve();
      await stopped;
      expect(t.sink.answers(trigger.id)[1]!.data.message).to.equal('done');
      expect(t.logged('shutdown deadline reached; aborting running handlers')).to.deep.equal([]);
      expect(t.sink.closes).to.have.length(1);
      expect(t.sink.closes[0]).to.be.within(4000, 4960);
    });

    it('gives the sink at least a second, and 30 s by default', async () => {
      const short = await startLoop();
      await short.loop.stop({ deadlineMs: 10 });
      expect(short.sink.closes).to.deep.equal([1000]);
      const byDefault = await startLoop();
      await byDefault.loop.stop();
      expect(byDefault.sink.closes[0]).to.be.within(29_000, 30_000);
    });

    it('past the deadline aborts the handlers and sends what they return, or nothing for DEFER_FINISHED', async () => {
      const t = await startLoop();
      const ranAfterFinished: string[] = [];
      t.loop.handle('deliver', async (event, ctx) => {
        ctx.afterFinished(() => void ranAfterFinished.push(event.data.service!));
        await new Promise((r) => ctx.signal.addEventListener('abort', r));
        if (event.data.service === 'deferred') return DEFER_FINISHED;
        return { status: 'errored', result: 'fail', message: String(ctx.signal.reason.message) };
      });
      const aborted = taskTrigger('deliver');
      const deferredTrigger = taskTrigger('deliver', { service: 'deferred' });
      t.source.send(aborted);
      t.source.send(deferredTrigger);
      await t.loop.stop({ deadlineMs: 30 });
      expect(t.sink.kinds(aborted.id)).to.deep.equal(['started', 'finished']);
      expect(t.sink.answers(aborted.id)[1]!.data).to.include({
        status: 'errored',
        message: SHUTDOWN_MESSAGE,
      });
      expect(t.sink.kinds(deferredTrigger.id)).to.deep.equal(['started']);
      expect(ranAfterFinished).to.deep.equal(['carts']);
      expect(t.logged('shutdown deadline reached; aborting running handlers')[0]!.meta).to.include({
        running: 2,
      });
      expect(t.logged('the handler deferred the .finished to a durable record')[0]!.meta).to.include({
        triggeredid: deferredTrigger.id,
      });
    });

    it('waits two seconds by default for an aborted handler to return its own answer', async () => {
      const t = await startLoop();
      t.loop.handle('deliver', async (_event, ctx) => {
        await new Promise((r) => ctx.signal.addEventListener('abort', r));
        await new Promise((r) => setTimeout(r, 100));
        return { message: 'rolled back' };
      });
      const trigger = taskTrigger('deliver');
      t.source.send(trigger);
      await t.loop.stop({ deadlineMs: 20 });
      expect(t.sink.kinds(trigger.id)).to.deep.equal(['started', 'finished']);
      expect(t.sink.answers(trigger.id)[1]!.data.message).to.equal('rolled back');
    });

    it('finishes a handler that ignores the abort as errored, and sends nothing more when it returns later', async () => {
      const t = await startLoop({ abortGraceMs: 20 });
      const late = deferred();
      const returned = deferred();
      t.loop.handle('deliver', async () => {
        await late.promise;
        returned.resolve();
        return { message: 'too late' };
      });
      const trigger = taskTrigger('deliver');
      t.source.send(trigger);
      await t.loop.stop({ deadlineMs: 20 });
      expect(t.sink.kinds(trigger.id)).to.deep.equal(['started', 'finished']);
      expect(t.sink.answers(trigger.id)[1]!.data).to.include({
        status: 'errored',
        result: 'fail',
        message: SHUTDOWN_MESSAGE,
      });
      expect(t.logged('the handler did not return after abort; finishing it as errored')[0]!.meta).to.include(
        {
          triggeredid: trigger.id,
        },
      );
      late.resolve();
      await returned.promise;
      await new Promise((r) => setImmediate(r));
      expect(t.sink.kinds(trigger.id)).to.deep.equal(['started', 'finished']);
    });

    it('aborts only the deliveries still running: a finished one keeps its signal, a hanging one is told in words', async () => {
      const t = await startLoop({ abortGraceMs: 20 });
      let finishedSignal: AbortSignal | undefined;
      t.loop.handle('deliver', async (event, ctx) => {
        if (event.data.service !== 'quick') return new Promise(() => {});
        // Work a handler started and left running on its signal after returning.
        finishedSignal = ctx.signal;
        return {};
      });
      const quick = taskTrigger('deliver', { service: 'quick' });
      const hanging = taskTrigger('deliver');
      t.source.send(quick);
      await eventually(() => t.sink.kinds(quick.id).length === 2);
      t.source.send(hanging);
      await t.loop.stop({ deadlineMs: 20 });
      expect(finishedSignal!.aborted).to.equal(false);
      expect(t.sink.answers(hanging.id)[1]!.data.message).to.equal(
        'service shut down before the delivery finished',
      );
    });

    it('does not finish twice a delivery whose own .finished is still being published when the grace ends', async () => {
      const t = await startLoop({ abortGraceMs: 20 });
      const finishedAccepted = deferred();
      t.sink.accept = (e) => (e.type.endsWith('.finished') ? finishedAccepted.promise : undefined);
      t.loop.handle('deliver', async (_event, ctx) => {
        await new Promise((r) => ctx.signal.addEventListener('abort', r));
        return { message: 'stopped' };
      });
      const trigger = taskTrigger('deliver');
      t.source.send(trigger);
      const stopped = t.loop.stop({ deadlineMs: 20 });
      await eventually(() => t.sink.attempts.length === 2);
      await new Promise((r) => setTimeout(r, 60));
      finishedAccepted.resolve();
      await stopped;
      expect(t.sink.attempts.map(kind)).to.deep.equal(['started', 'finished']);
      expect(t.sink.answers(trigger.id)[1]!.data.message).to.equal('stopped');
    });
  });

  describe('concurrency', () => {
    it('runs at most `concurrency` handlers, yet sends every .started at once', async () => {
      const t = await startLoop({ concurrency: 2 });
      const gate = deferred();
      let running = 0;
      let peak = 0;
      t.loop.handle('deliver', async () => {
        peak = Math.max(peak, ++running);
        await gate.promise;
        running--;
        return {};
      });
      const triggers = Array.from({ length: 5 }, () => taskTrigger('deliver'));
      for (const trigger of triggers) t.source.send(trigger);
      await eventually(() => t.sink.published.length === 5 && running === 2);
      expect(t.sink.published.map(kind)).to.deep.equal(Array(5).fill('started'));
      expect(await t.metric('keptn_handlers_active')).to.equal(2);
      gate.resolve();
      await t.loop.stop();
      expect(peak).to.equal(2);
      for (const trigger of triggers) expect(t.sink.kinds(trigger.id)).to.deep.equal(['started', 'finished']);
    });

    it('runs many handlers at once by default without a listener-leak warning', async () => {
      const warnings: Error[] = [];
      const onWarning = (w: Error) => void warnings.push(w);
      process.on('warning', onWarning);
      try {
        const t = await startLoop();
        const gate = deferred();
        let running = 0;
        t.loop.handle('deliver', async () => {
          running++;
          await gate.promise;
          return {};
        });
        for (let n = 0; n < 15; n++) t.source.send(taskTrigger('deliver'));
        await eventually(() => running === 15);
        gate.resolve();
        await t.loop.stop();
        await new Promise((r) => setImmediate(r));
        expect(warnings.map((w) => w.name)).not.to.include('MaxListenersExceededWarning');
      } finally {
        process.off('warning', onWarning);
      }
    });
  });

  describe('adopted deliveries and offered triggers', () => {
    const parentOf = (trigger: KeptnEvent) => ({
      type: trigger.type,
      id: trigger.id,
      shkeptncontext: trigger.shkeptncontext,
      gitcommitid: trigger.gitcommitid,
      data: { project: 'sockshop', stage: 'dev', service: 'carts' },
    });

    it('finishes an adopted delivery with only a .finished and ignores a redelivery of its trigger', async () => {
      const t = await startLoop();
      t.loop.handle('deliver', async () => ({}));
      const trigger = taskTrigger('deliver');
      await t.loop.finishAdopted(parentOf(trigger), async () => ({ message: 'adopted' }));
      expect(t.sink.kinds(trigger.id)).to.deep.equal(['finished']);
      expect(t.sink.answers(trigger.id)[0]!.data.message).to.equal('adopted');
      expect(
        await t.metric('keptn_events_handled_total', {
          task: 'deliver',
          status: 'succeeded',
          result: 'pass',
        }),
      ).to.equal(1);
      expect(t.logged('sent .finished')[0]!.meta).to.include({ triggeredid: trigger.id, task: 'deliver' });
      t.source.send(trigger);
      await t.loop.stop();
      expect(t.sink.kinds(trigger.id)).to.deep.equal(['finished']);
    });

    it('sends the .started first for an adopted delivery that never sent one, records it, then finishes', async () => {
      const t = await startLoop();
      const order: string[] = [];
      t.sink.accept = (e) => void order.push(`published ${kind(e)}`);
      const trigger = taskTrigger('deliver');
      await t.loop.finishAdopted(
        parentOf(trigger),
        async () => {
          order.push('work');
          return {};
        },
        { recorded: async () => void order.push('recorded') },
      );
      expect(order).to.deep.equal(['published started', 'recorded', 'work', 'published finished']);
    });

    it('logs an adopted delivery whose .started could not be sent, and still finishes it', async () => {
      const t = await startLoop();
      t.sink.accept = (e) => {
        if (e.type.endsWith('.started')) throw new Error('connection closed');
      };
      const trigger = taskTrigger('deliver');
      await t.loop.finishAdopted(parentOf(trigger), async () => ({}), { recorded: async () => {} });
      expect(t.sink.kinds(trigger.id)).to.deep.equal(['finished']);
      expect(t.logged('could not send .started')[0]!.meta).to.include({
        error: 'connection closed',
        triggeredid: trigger.id,
        task: 'deliver',
      });
    });

    it('names an adopted delivery of a type that is not a task by its type', async () => {
      const t = await startLoop();
      const trigger = taskTrigger('deliver', {}, { type: 'sh.keptn.custom.triggered' });
      await t.loop.finishAdopted(parentOf(trigger), async () => ({}));
      expect(t.logged('sent .finished')[0]!.meta.task).to.equal('sh.keptn.custom.triggered');
    });

    it('answers an offered trigger as if the source delivered it, on its subject and subscription', async () => {
      const t = await startLoop();
      const seen: KeptnEvent[] = [];
      t.loop.handle('deliver', async (event) => void seen.push(event));
      await t.loop.setSubscriptions([
        { id: 'other-sub', event: 'sh.keptn.event.other.triggered' },
        { id: 'deliver-sub', event: 'sh.keptn.event.deliver.triggered' },
      ]);
      const bySubject = taskTrigger('deliver');
      const bySubscription = taskTrigger('deliver');
      t.loop.offer(bySubject, 'sh.keptn.event.deliver.triggered');
      t.loop.offer(bySubscription, 'sh.keptn.event.deliver.triggered', 'open-trigger-sub');
      await t.loop.stop();
      expect(t.sink.kinds(bySubject.id)).to.deep.equal(['started', 'finished']);
      expect(seen.map((e) => temporaryData(e)!.distributor.subscriptionID)).to.deep.equal([
        'deliver-sub',
        'open-trigger-sub',
      ]);
    });

    it('passes over, without a word, an offered trigger already taken or one it could never answer', async () => {
      const t = await startLoop();
      t.loop.handle('deliver', async () => ({}));
      const taken = taskTrigger('deliver');
      t.source.send(taken);
      const subject = 'sh.keptn.event.deliver.triggered';
      for (const event of [
        taken,
        taskTrigger('deliver', {}, { id: '' }),
        taskTrigger('deliver', {}, { shkeptncontext: '' }),
        taskTrigger('deliver', { project: '' }),
        taskTrigger('deliver', { stage: 7 }),
        taskTrigger('deliver', { service: undefined }),
        { ...taskTrigger('deliver'), data: undefined } as unknown as KeptnEvent,
      ])
        t.loop.offer(event, subject);
      await t.loop.stop();
      expect(t.sink.published.map(kind)).to.deep.equal(['started', 'finished']);
      expect(await t.metric('keptn_events_rejected_total')).to.equal(0);
      expect(await t.metric('keptn_events_received_total')).to.equal(1);
      expect(t.log.filter((e) => e.level === 'warn')).to.deep.equal([]);
    });
  });
});
