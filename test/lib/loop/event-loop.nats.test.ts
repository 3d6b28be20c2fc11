import { expect } from 'chai';
import { DEFER_FINISHED, SHUTDOWN_MESSAGE, type KeptnEvent } from '../../../lib/index.js';
import { eventually } from '../../support/eventually.js';
import { freeze } from '../../support/freeze.js';
import { Gate, NatsHarness, taskTrigger } from '../harness.js';

describe('EventLoop over NATS with the simulated control plane', () => {
  let h: NatsHarness;
  beforeEach(async () => {
    h = await NatsHarness.start();
  });
  afterEach(async () => {
    await h.dispose();
  });

  it('registers, pings, and answers a trigger with started then finished', async () => {
    let seen: KeptnEvent | undefined;
    const i = h.integration().handle('deliver', async (event) => {
      seen = event;
      return { message: 'deployed', deployment: { deploymentNames: ['direct'] } };
    });
    await i.start();
    const [reg] = h.sim.registrations();
    expect(reg!.name).to.equal('gitops-service');
    expect(reg!.metadata.distributorversion).to.equal('0.15.0');
    expect(reg!.metadata.kubernetesmetadata).to.deep.equal({
      namespace: 'keptn',
      podname: 'pod-1',
      deploymentname: 'gitops-service',
    });
    const firstSeen = reg!.metadata.lastseen!;
    await eventually(() => Date.parse(h.sim.registrations()[0]!.metadata.lastseen!) > Date.parse(firstSeen));

    const t = taskTrigger('deliver');
    await h.publish(t);
    await eventually(() => expect(h.kinds(t.id)).to.deep.equal(['started', 'finished']));
    const [started, finished] = h.answers(t.id);
    expect(started!.shkeptncontext).to.equal(t.shkeptncontext);
    expect(started!.gitcommitid).to.equal('f00dcafe');
    expect(started!.source).to.equal('gitops-service');
    expect(finished!.data).to.deep.include({
      project: 'sockshop',
      stage: 'dev',
      service: 'carts',
      status: 'succeeded',
      result: 'pass',
      message: 'deployed',
    });
    expect(
      (seen!.data.temporaryData as { distributor: { subscriptionID: string } }).distributor.subscriptionID,
    ).to.equal(reg!.subscriptions[0]!.id);
  });

  it('sends started within milliseconds, before the handler is done', async () => {
    const gate = new Gate();
    await h
      .integration()
      .handle('deliver', () => gate.wait())
      .start();
    const t = taskTrigger('deliver');
    const sentAt = Date.now();
    await h.publish(t);
    await eventually(() => expect(h.kinds(t.id)).to.deep.equal(['started']));
    expect(Date.parse(h.answers(t.id)[0]!.time!) - sentAt).to.be.lessThan(500);
    // The handler runs after the `.started` is on its way: release it once it is waiting.
    await eventually(() => gate.entered === 1);
    gate.releaseAll();
    await eventually(() => expect(h.kinds(t.id)).to.deep.equal(['started', 'finished']));
  });

  it('sends errored/fail with the message when the handler throws, and forwards it to /v1/log', async () => {
    const i = h.integration().handle('deliver', async () => {
      throw new Error('argocd sync refused: 403');
    });
    await i.start();
    const t = taskTrigger('deliver');
    await h.publish(t);
    await eventually(() => expect(h.kinds(t.id)).to.deep.equal(['started', 'finished']));
    expect(h.answers(t.id)[1]!.data).to.include({
      status: 'errored',
      result: 'fail',
      message: 'argocd sync refused: 403',
    });
    await eventually(() => expect(h.sim.logs()).to.have.length(1));
    expect(h.sim.logs()[0]).to.include({
      integrationid: i.integrationId,
      message: 'argocd sync refused: 403',
      shkeptncontext: t.shkeptncontext,
      task: 'deliver',
      triggeredid: t.id,
      gitcommitid: 'f00dcafe',
    });
  });

  it('answers a trigger delivered twice only once', async () => {
    let calls = 0;
    const i = h.integration().handle('deliver', async () => void calls++);
    await i.start();
    const t = taskTrigger('deliver');
    await h.publish(t);
    await h.publish(t);
    await eventually(() => expect(h.kinds(t.id)).to.deep.equal(['started', 'finished']));
    await eventually(async () =>
      (await i.registry.getSingleMetricAsString('keptn_events_rejected_total')).includes(
        'reason="duplicate"} 1',
      ),
    );
    expect(calls).to.equal(1);
    expect(h.kinds(t.id)).to.deep.equal(['started', 'finished']);
  });

  it('logs and counts a trigger without project, stage or service and sends nothing', async () => {
    const i = h.integration().handle('deliver', async () => ({}));
    await i.start();
    const bad = taskTrigger('deliver', { stage: undefined });
    const good = taskTrigger('deliver');
    await h.publish(bad);
    await h.publish(good);
    await eventually(() => expect(h.kinds(good.id)).to.deep.equal(['started', 'finished']));
    expect(h.answers(bad.id)).to.deep.equal([]);
    expect(await i.registry.getSingleMetricAsString('keptn_events_rejected_total')).to.include(
      'reason="missing-scope"} 1',
    );
  });

  it('handles only the projects its per-project subscriptions name', async () => {
    const i = h.integration({
      subscriptions: [
        { event: 'sh.keptn.event.deliver.triggered', filter: { projects: ['sockshop'], stages: ['dev'] } },
        { event: 'sh.keptn.event.deliver.triggered', filter: { projects: ['podtato'] } },
      ],
    });
    await i.handle('deliver', async () => ({})).start();
    const subs = h.sim.registrations()[0]!.subscriptions;
    const mine = [taskTrigger('deliver'), taskTrigger('deliver', { project: 'podtato', stage: 'prod' })];
    const others = [taskTrigger('deliver', { project: 'other' }), taskTrigger('deliver', { stage: 'prod' })];
    for (const t of [...others, ...mine]) await h.publish(t);
    for (const t of mine)
      await eventually(() => expect(h.kinds(t.id)).to.deep.equal(['started', 'finished']));
    for (const t of others) expect(h.answers(t.id)).to.deep.equal([]);
    expect(h.answers(mine[1]!.id)[0]).to.exist;
    expect(subs.map((s) => s.filter?.projects)).to.deep.equal([['sockshop'], ['podtato']]);
  });

  it('follows subscription changes made on the control plane at run time', async () => {
    const i = h.integration().handle('*', async () => ({}));
    await i.start();
    h.sim.setSubscriptions(i.integrationId!, [{ event: 'sh.keptn.event.deployment.triggered' }]);
    const t = taskTrigger('deployment');
    await eventually(async () => {
      await h.publish({ ...t, id: `${t.id.slice(0, -4)}${String(Math.random()).slice(2, 6)}` });
      return h.sim.events({ type: 'sh.keptn.event.deployment.finished' }).length > 0;
    });
    const old = taskTrigger('deliver');
    await h.publish(old);
    const marker = taskTrigger('deployment');
    await h.publish(marker);
    await eventually(() => expect(h.kinds(marker.id)).to.deep.equal(['started', 'finished']));
    expect(h.answers(old.id)).to.deep.equal([]);
  });

  it('limits running handlers to the concurrency bound but sends every started at once', async () => {
    const gate = new Gate();
    let running = 0;
    let peak = 0;
    const i = h.integration({ concurrency: 2 }).handle('deliver', async () => {
      running++;
      peak = Math.max(peak, running);
      await gate.wait();
      running--;
      return {};
    });
    await i.start();
    const triggers = Array.from({ length: 6 }, () => taskTrigger('deliver'));
    for (const t of triggers) await h.publish(t);
    await eventually(() => triggers.every((t) => h.kinds(t.id)[0] === 'started'));
    await eventually(() => gate.entered === 2);
    expect(running).to.equal(2);
    await eventually(() => {
      gate.releaseAll();
      return triggers.every((t) => h.kinds(t.id).join() === 'started,finished');
    });
    expect(peak).to.equal(2);
  });

  it('on shutdown lets a running handler finish within the deadline', async () => {
    const gate = new Gate();
    const i = h.integration().handle('deliver', async (_event, ctx) => {
      await gate.wait();
      return { message: ctx.signal.aborted ? 'aborted' : 'done' };
    });
    await i.start();
    const t = taskTrigger('deliver');
    await h.publish(t);
    await eventually(() => gate.entered === 1 && h.kinds(t.id).length === 1);
    // The handler is let go only once the loop's stop is under way (it is waiting for it by then).
    const loop = i.eventLoop!;
    let loopStopping = false;
    const stopLoop = loop.stop.bind(loop);
    loop.stop = (options) => {
      loopStopping = true;
      return stopLoop(options);
    };
    const stopping = i.stop({ deadlineMs: 3000 });
    await eventually(() => loopStopping);
    gate.releaseAll();
    await stopping;
    await eventually(() => expect(h.kinds(t.id)).to.deep.equal(['started', 'finished']));
    expect(h.answers(t.id)[1]!.data.message).to.equal('done');
  });

  it('on shutdown past the deadline aborts the handler and sends what it returns, or nothing for DEFER_FINISHED', async () => {
    const i = h.integration({ abortGraceMs: 500 }).handle('deliver', async (event, ctx) => {
      await new Promise((r) => ctx.signal.addEventListener('abort', r));
      if (event.data.service === 'deferred') return DEFER_FINISHED;
      return { status: 'errored', result: 'fail', message: String(ctx.signal.reason.message) };
    });
    await i.start();
    const a = taskTrigger('deliver');
    const b = taskTrigger('deliver', { service: 'deferred' });
    await h.publish(a);
    await h.publish(b);
    await eventually(() => h.kinds(a.id).length === 1 && h.kinds(b.id).length === 1);
    await i.stop({ deadlineMs: 100 });
    await eventually(() => expect(h.kinds(a.id)).to.deep.equal(['started', 'finished']));
    expect(h.answers(a.id)[1]!.data).to.include({ status: 'errored', message: SHUTDOWN_MESSAGE });
    expect(h.kinds(b.id)).to.deep.equal(['started']);
  });

  it('finishes a handler that ignores the abort as errored so no started is left alone', async () => {
    const i = h.integration({ abortGraceMs: 100 }).handle('deliver', () => new Promise(() => {}));
    await i.start();
    const t = taskTrigger('deliver');
    await h.publish(t);
    await eventually(() => h.kinds(t.id).length === 1);
    await i.stop({ deadlineMs: 50 });
    await eventually(() => expect(h.kinds(t.id)).to.deep.equal(['started', 'finished']));
    expect(h.answers(t.id)[1]!.data).to.include({
      status: 'errored',
      result: 'fail',
      message: SHUTDOWN_MESSAGE,
    });
  });

  it('still delivers the finished when nats-server restarts mid-handler', async () => {
    // shipyard-controller reads through JetStream, so it sees what is published right after the restart
    await h.dispose();
    h = await NatsHarness.start({ jetstream: true });
    const gate = new Gate();
    const i = h.integration().handle('deliver', () => gate.wait());
    await i.start();
    const t = taskTrigger('deliver');
    await h.publish(t);
    await eventually(() => gate.entered === 1 && h.kinds(t.id).length === 1);
    await h.nats.stop();
    gate.releaseAll();
    // The handler has returned while the server is down: its .finished waits in the outbox.
    await eventually(async () =>
      expect(await i.registry.getSingleMetricAsString('keptn_handlers_active')).to.match(
        /^keptn_handlers_active 0$/m,
      ),
    );
    await h.nats.restart();
    await eventually(() => expect(h.kinds(t.id)).to.deep.equal(['started', 'finished']), 10_000);
  });

  it('drops 1,000 malformed messages, answers every valid one, and keeps going', async () => {
    const i = h.integration().handle('deliver', async () => ({}));
    await i.start();
    const valid: KeptnEvent[] = [];
    const junk = [
      '',
      '{',
      '[]',
      '42',
      '{"data":{}}',
      '{"type":7}',
      'null',
      '\u0000\u00ff',
      '{"type":"sh.keptn.event.deliver.triggered","data":"x"}',
    ];
    for (let n = 0; n < 1000; n++) {
      h.nc.publish('sh.keptn.event.deliver.triggered', junk[n % junk.length]!);
      if (n % 50 === 0) {
        const t = taskTrigger('deliver');
        valid.push(t);
        h.nc.publish(t.type, JSON.stringify(t));
      }
    }
    await h.nc.flush();
    await eventually(() => valid.every((t) => h.kinds(t.id).join() === 'started,finished'), 10_000);
    const rejected = await i.registry.getSingleMetricAsString('keptn_events_rejected_total');
    const total = [...rejected.matchAll(/} (\d+)/g)].reduce((s, m) => s + Number(m[1]), 0);
    expect(total).to.equal(1000);
  });

  it('serves /health, /ready and /metrics', async () => {
    const i = h.integration().handle('deliver', async () => ({}));
    await i.start();
    const base = `http://127.0.0.1:${i.healthPort}`;
    const health = await fetch(`${base}/health`);
    expect(health.status).to.equal(200);
    expect(await health.json()).to.deep.equal({ status: 'OK' });
    expect((await fetch(`${base}/ready`)).status).to.equal(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    for (const m of [
      'keptn_events_received_total',
      'keptn_events_rejected_total',
      'keptn_events_handled_total',
      'keptn_handler_duration_seconds',
      'keptn_handlers_active',
    ])
      expect(metrics).to.include(m);
    h.sim.setSubscriptions(i.integrationId!, []);
    await eventually(async () => (await fetch(`${base}/ready`)).status === 503);
    expect((await fetch(`${base}/health`)).status).to.equal(200);
  });

  it('is not ready while an answer waits in the outbox longer than the stall limit (the NATS server stopped answering), and ready again once it is sent', async () => {
    const gate = new Gate();
    const i = h
      .integration({ outboxStallLimitMs: 300 })
      .handle('deliver', () => gate.wait().then(() => ({})));
    await i.start();
    const ready = `http://127.0.0.1:${i.healthPort}/ready`;
    const t = taskTrigger('deliver');
    await h.publish(t);
    await eventually(() => expect(h.kinds(t.id)).to.deep.equal(['started']));
    await eventually(() => expect(gate.entered).to.equal(1));
    // Frozen, not gone: the connection stays up and subscribed, but nothing is acknowledged any more.
    await freeze(h.nats.pid!);
    try {
      gate.releaseAll();
      const stuck = await eventually(
        async () => {
          const res = await fetch(ready);
          expect(res.status).to.equal(503);
          return (await res.json()) as { waitingFor: string[] };
        },
        5000,
        50,
      );
      expect(stuck.waitingFor.join(' ')).to.match(
        /the event broker to accept the answers queued to it \(the oldest has waited \d+ s\)/,
      );
    } finally {
      process.kill(h.nats.pid!, 'SIGCONT');
    }
    await eventually(() => expect(h.kinds(t.id)).to.deep.equal(['started', 'finished']));
    await eventually(async () => expect((await fetch(ready)).status).to.equal(200));
  });

  it('retries registration until the control plane answers, and registers again after a 404 ping', async () => {
    h.sim.failNext(3, 503);
    const i = h.integration().handle('deliver', async () => ({}));
    await i.start();
    expect(h.sim.registrations()).to.have.length(1);
    h.sim.dropIntegration(i.integrationId!);
    await eventually(() => h.sim.registrations().length === 1);
    const t = taskTrigger('deliver');
    await h.publish(t);
    await eventually(() => expect(h.kinds(t.id)).to.deep.equal(['started', 'finished']));
  });

  it('finishes an adopted delivery with only a finished', async () => {
    const i = h.integration().handle('deliver', async () => ({}));
    await i.start();
    const t = taskTrigger('deliver');
    await i.eventLoop!.finishAdopted(
      {
        type: t.type,
        id: t.id,
        shkeptncontext: t.shkeptncontext,
        gitcommitid: t.gitcommitid,
        data: { project: 'sockshop', stage: 'dev', service: 'carts' },
      },
      async () => ({ message: 'adopted' }),
    );
    await eventually(() => expect(h.kinds(t.id)).to.deep.equal(['finished']));
    await h.publish(t);
    await eventually(async () =>
      (await i.registry.getSingleMetricAsString('keptn_events_rejected_total')).includes('duplicate'),
    );
    expect(h.kinds(t.id)).to.deep.equal(['finished']);
  });

  it('runs afterFinished callbacks after the finished was sent', async () => {
    let finishedSeenByCallback = false;
    const i = h.integration().handle('deliver', async (event, ctx) => {
      ctx.afterFinished(async () => {
        await eventually(() => h.kinds(event.id).includes('finished'));
        finishedSeenByCallback = true;
      });
      return {};
    });
    await i.start();
    const t = taskTrigger('deliver');
    await h.publish(t);
    await eventually(() => finishedSeenByCallback);
  });
});
