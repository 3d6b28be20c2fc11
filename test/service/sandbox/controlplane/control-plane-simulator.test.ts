import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { matchesFilter, registrationBody, type KeptnEvent } from '../../../../lib/index.js';
import { ControlPlaneSimulator } from '../../../../service/sandbox/controlplane/control-plane-simulator.js';
import { eventually } from '../../../support/eventually.js';
import { NatsHarness, metadata, taskTrigger } from '../../../lib/harness.js';

async function call(
  method: string,
  url: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers['x-token'] = token;
  const res = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

describe('ControlPlaneSimulator', () => {
  let sim: ControlPlaneSimulator;
  beforeEach(async () => {
    sim = await ControlPlaneSimulator.start({ token: 't0k' });
  });
  afterEach(async () => {
    await sim.stop();
  });

  it('registers with the sha1 id, 201 then 200, and keeps existing subscriptions', async () => {
    const body = registrationBody('my-service', { ...metadata, namespace: 'keptn', hostname: 'node-1' }, [
      { event: 'sh.keptn.event.deliver.triggered' },
    ]);
    const first = await call('POST', `${sim.url}/v1/uniform/registration`, body);
    expect(first).to.deep.equal({ status: 201, body: { id: '88de5cd4774422f6ebed5f0f94bc1bbcd94b6266' } });
    const again = await call(
      'POST',
      `${sim.url}/v1/uniform/registration`,
      registrationBody('my-service', { ...metadata, namespace: 'keptn', hostname: 'node-1' }, [
        { event: 'other' },
      ]),
    );
    expect(again).to.deep.equal({ status: 200, body: { id: first.body.id } });
    const ping = await call('PUT', `${sim.url}/v1/uniform/registration/${first.body.id}/ping`);
    expect(ping.status).to.equal(200);
    expect(ping.body.subscriptions.map((s: { event: string }) => s.event)).to.deep.equal([
      'sh.keptn.event.deliver.triggered',
    ]);
    expect(ping.body.metadata.lastseen).to.be.a('string');
    expect((await call('PUT', `${sim.url}/v1/uniform/registration/nope/ping`)).status).to.equal(404);
  });

  it('refuses incomplete ids and services without stages', async () => {
    expect(
      (
        await call(
          'POST',
          `${sim.url}/v1/uniform/registration`,
          registrationBody('x', { ...metadata, hostname: '' }, []),
        )
      ).status,
    ).to.equal(400);
    const bad = registrationBody('x', metadata, [{ event: 'e', filter: { services: ['carts'] } }]);
    expect((await call('POST', `${sim.url}/v1/uniform/registration`, bad)).status).to.equal(400);
  });

  it('creates, updates, lists and deletes subscriptions', async () => {
    const { body } = await call(
      'POST',
      `${sim.url}/v1/uniform/registration`,
      registrationBody('x', metadata, []),
    );
    const base = `${sim.url}/v1/uniform/registration/${body.id}/subscription`;
    const created = await call('POST', base, {
      event: 'sh.keptn.event.deliver.triggered',
      filter: { projects: ['p'] },
    });
    expect(created.status).to.equal(201);
    expect(
      (await call('PUT', `${base}/${created.body.id}`, { event: 'sh.keptn.event.deployment.triggered' }))
        .status,
    ).to.equal(201);
    expect((await call('GET', `${base}/${created.body.id}`)).body.event).to.equal(
      'sh.keptn.event.deployment.triggered',
    );
    expect((await call('DELETE', `${base}/${created.body.id}`)).status).to.equal(200);
    expect((await call('GET', base)).body).to.deep.equal([]);
  });

  it('guards the gateway paths with x-token', async () => {
    const res = await call('GET', `${sim.apiUrl}/controlPlane/v1/uniform/registration`);
    expect(res).to.deep.equal({
      status: 401,
      body: { code: 401, message: 'unauthenticated or invalid credentials' },
    });
    expect(
      (await call('GET', `${sim.apiUrl}/controlPlane/v1/uniform/registration`, undefined, 't0k')).status,
    ).to.equal(200);
    // api-service answers a wrong token itself
    expect(await call('POST', `${sim.apiUrl}/v1/event`, taskTrigger('x'), 'wrong')).to.deep.equal({
      status: 401,
      body: { code: 401, message: 'incorrect api key auth' },
    });
  });

  it('validates and rewrites events posted to /api/v1/event', async () => {
    const post = (e: unknown) => call('POST', `${sim.apiUrl}/v1/event`, e, 't0k');
    const t = taskTrigger('deliver');
    expect((await post(t)).status).to.equal(400);
    expect(
      (await post({ ...t, type: 'sh.keptn.event.deliver.finished', triggeredid: t.id })).status,
    ).to.equal(400);
    expect((await post({ ...t, type: 'sh.keptn.event.deliver.started' })).status).to.equal(400);
    expect((await post({ ...t, type: 'sh.keptn.event.prod.delivery.triggered' })).status).to.equal(400);
    const ok = await post({
      ...t,
      type: 'sh.keptn.event.deliver.finished',
      triggeredid: t.id,
      data: { ...t.data, status: 'succeeded', result: 'pass' },
    });
    expect(ok).to.deep.equal({ status: 200, body: { keptnContext: t.shkeptncontext } });
    const stored = sim.events({ triggeredid: t.id })[0]!;
    expect(stored.id).to.not.equal(t.id);
    expect(stored).to.not.have.property('shkeptnspecversion');
    const seq = await post({
      type: 'sh.keptn.event.dev.delivery.triggered',
      source: 'cli',
      data: { project: 'p', stage: 'dev', service: 's' },
    });
    expect(seq.body.keptnContext).to.match(/^[0-9a-f-]{36}$/);
  });

  it('returns open triggers until their task completes, with paging and scope filters', async () => {
    const triggers = Array.from({ length: 5 }, (_, n) =>
      taskTrigger('deliver', { service: n < 3 ? 'carts' : 'orders' }),
    );
    for (const t of triggers) sim.injectTriggered(t);
    const page1 = await call(
      'GET',
      `${sim.url}/v1/event/triggered/sh.keptn.event.deliver.triggered?pageSize=2`,
    );
    expect(page1.body.events).to.have.length(2);
    expect(page1.body.totalCount).to.equal(5);
    const page3 = await call(
      'GET',
      `${sim.url}/v1/event/triggered/sh.keptn.event.deliver.triggered?pageSize=2&nextPageKey=4`,
    );
    expect(page3.body).to.deep.include({ nextPageKey: '0', totalCount: 5 });
    expect(page3.body.events).to.have.length(1);
    expect(page3.body).to.not.have.property('pageSize');
    // shipyard-controller 1.4.5: no totalCount when nothing is open, and 404 for a project it does not have
    expect(
      (await call('GET', `${sim.url}/v1/event/triggered/sh.keptn.event.test.triggered?project=sockshop`))
        .body,
    ).to.deep.equal({ events: [], nextPageKey: '0' });
    expect(
      await call('GET', `${sim.url}/v1/event/triggered/sh.keptn.event.deliver.triggered?project=nope`),
    ).to.deep.equal({ status: 404, body: { code: 404, message: 'project not found' } });
    const orders = await call(
      'GET',
      `${sim.url}/v1/event/triggered/sh.keptn.event.deliver.triggered?service=orders`,
    );
    expect(orders.body.events).to.have.length(2);
    const answer = (t: KeptnEvent, kind: 'started' | 'finished', data: Record<string, unknown> = {}) =>
      call(
        'POST',
        `${sim.apiUrl}/v1/event`,
        {
          ...t,
          type: `sh.keptn.event.deliver.${kind}`,
          triggeredid: t.id,
          data: { ...t.data, status: 'succeeded', result: 'pass', ...data },
        },
        't0k',
      );
    const openCount = async () =>
      (await call('GET', `${sim.url}/v1/event/triggered/sh.keptn.event.deliver.triggered`)).body.totalCount;
    // a lone .finished does not complete the task: shipyard-controller keeps the trigger open
    await answer(triggers[0]!, 'finished');
    expect(await openCount()).to.equal(5);
    // an answer of another project does not count
    await answer(triggers[1]!, 'started', { project: 'other' });
    await answer(triggers[1]!, 'finished', { project: 'other' });
    expect(await openCount()).to.equal(5);
    // two .started, one .finished: still running; as many .finished as .started: complete
    await answer(triggers[1]!, 'started');
    await answer(triggers[1]!, 'started');
    await answer(triggers[1]!, 'finished');
    expect(await openCount()).to.equal(5);
    await answer(triggers[1]!, 'finished');
    expect(await openCount()).to.equal(4);
  });

  it('matches filters like the go-sdk eventmatcher', () => {
    const d = { project: 'p', stage: 'dev', service: 's' };
    expect(matchesFilter({ projects: ['p'], stages: [], services: null }, d)).to.equal(true);
    expect(matchesFilter({ projects: ['q'] }, d)).to.equal(false);
    expect(matchesFilter({ stages: ['dev', 'prod'], services: ['x'] }, d)).to.equal(false);
  });
});

describe('ControlPlaneSimulator as shipyard-controller on NATS', () => {
  let h: NatsHarness;
  beforeEach(async () => {
    h = await NatsHarness.start();
  });
  afterEach(async () => {
    await h.dispose();
  });

  it('runs a sequence task by task and finishes it', async () => {
    h.sim.setShipyard('sockshop', { dev: { delivery: ['deliver', 'test'] } });
    await h
      .integration({
        subscriptions: [
          { event: 'sh.keptn.event.deliver.triggered' },
          { event: 'sh.keptn.event.test.triggered' },
        ],
      })
      .handle('deliver', async () => ({ deployment: { deploymentURIsLocal: ['http://a'] } }))
      .handle('test', async (e) => ({
        sawUris: (e.data.deployment as { deploymentURIsLocal: string[] }).deploymentURIsLocal,
      }))
      .start();
    const seq: KeptnEvent = {
      ...taskTrigger('x'),
      type: 'sh.keptn.event.dev.delivery.triggered',
      source: 'cli',
      gitcommitid: 'abc',
    };
    await h.publish(seq);
    await eventually(() => h.sim.events({ type: 'sh.keptn.event.dev.delivery.finished' }).length === 1);
    const done = h.sim.events({ type: 'sh.keptn.event.dev.delivery.finished' })[0]!;
    expect(done.triggeredid).to.equal(seq.id);
    expect(done.data).to.include({ status: 'succeeded', result: 'pass' });
    const testTrigger = h.sim.events({ type: 'sh.keptn.event.test.triggered' })[0]!;
    expect(testTrigger).to.include({
      source: 'shipyard-controller',
      gitcommitid: 'abc',
      shkeptncontext: seq.shkeptncontext,
    });
    expect(testTrigger).to.not.have.property('triggeredid');
    expect(h.sim.events({ type: 'sh.keptn.event.test.finished' })[0]!.data.sawUris).to.deep.equal([
      'http://a',
    ]);
  });

  it('runs one sequence at a time per project, stage and service; the next waits until it finishes', async () => {
    h.sim.setShipyard('sockshop', { dev: { delivery: ['deliver'] } });
    const release: Array<() => void> = [];
    await h
      .integration({ subscriptions: [{ event: 'sh.keptn.event.deliver.triggered' }] })
      .handle('deliver', () => new Promise((resolve) => release.push(() => resolve({}))))
      .start();
    const first: KeptnEvent = {
      ...taskTrigger('x'),
      type: 'sh.keptn.event.dev.delivery.triggered',
      source: 'cli',
    };
    const second: KeptnEvent = {
      ...taskTrigger('x'),
      type: 'sh.keptn.event.dev.delivery.triggered',
      source: 'cli',
    };
    const otherService: KeptnEvent = {
      ...taskTrigger('x', { service: 'orders' }),
      type: 'sh.keptn.event.dev.delivery.triggered',
      source: 'cli',
    };
    for (const e of [first, second, otherService]) await h.publish(e);
    const delivers = () => h.sim.events({ type: 'sh.keptn.event.deliver.triggered' });
    await eventually(() => delivers().length === 2 && release.length === 2);
    expect(delivers().map((e) => e.shkeptncontext)).to.have.members([
      first.shkeptncontext,
      otherService.shkeptncontext,
    ]);
    expect(h.sim.waitingSequences().map((e) => e.id)).to.deep.equal([second.id]);
    release.shift()!();
    release.shift()!();
    await eventually(() => delivers().length === 3 && release.length === 1);
    expect(delivers()[2]!.shkeptncontext).to.equal(second.shkeptncontext);
    expect(h.sim.waitingSequences()).to.deep.equal([]);
    release.shift()!();
    await eventually(() => h.sim.events({ type: 'sh.keptn.event.dev.delivery.finished' }).length === 3);
  });

  it('ignores task events without project, stage and service: the task does not complete', async () => {
    h.sim.setShipyard('sockshop', { dev: { delivery: ['deliver'] } });
    const seq: KeptnEvent = {
      ...taskTrigger('x'),
      type: 'sh.keptn.event.dev.delivery.triggered',
      source: 'cli',
    };
    await h.publish(seq);
    await eventually(() => h.sim.events({ type: 'sh.keptn.event.deliver.triggered' }).length === 1);
    const trigger = h.sim.events({ type: 'sh.keptn.event.deliver.triggered' })[0]!;
    const answer = (kind: string, data: Record<string, unknown>): KeptnEvent => ({
      ...trigger,
      id: randomUUID(),
      source: 'responder',
      type: `sh.keptn.event.deliver.${kind}`,
      triggeredid: trigger.id,
      data,
    });
    await h.publish(answer('started', { project: 'sockshop', stage: 'dev' }));
    await h.publish(
      answer('finished', { project: 'sockshop', stage: 'dev', status: 'succeeded', result: 'pass' }),
    );
    await eventually(() => h.sim.events({ type: 'sh.keptn.event.deliver.finished' }).length === 1);
    await h.publish(answer('started', trigger.data));
    await eventually(() => h.sim.events({ type: 'sh.keptn.event.deliver.started' }).length === 2);
    expect(h.sim.events({ type: 'sh.keptn.event.dev.delivery.finished' })).to.deep.equal([]);
    await h.publish(answer('finished', { ...trigger.data, status: 'succeeded', result: 'pass' }));
    await eventually(() => h.sim.events({ type: 'sh.keptn.event.dev.delivery.finished' }).length === 1);
  });

  it('puts task properties under data.<task>, and ends a failed sequence with the labels and message of the failing task', async () => {
    h.sim.setShipyard('sockshop', {
      dev: { delivery: [{ name: 'deliver', properties: { strategy: 'direct' } }, 'test'] },
    });
    await h
      .integration({ subscriptions: [{ event: 'sh.keptn.event.deliver.triggered' }] })
      .handle('deliver', async (e) => ({
        sawProperties: e.data.deliver,
        status: 'succeeded',
        result: 'fail',
        message: 'deploy failed',
      }))
      .start();
    const seq: KeptnEvent = {
      ...taskTrigger('x'),
      type: 'sh.keptn.event.dev.delivery.triggered',
      source: 'cli',
    };
    await h.publish(seq);
    await eventually(() => h.sim.events({ type: 'sh.keptn.event.dev.delivery.finished' }).length === 1);
    expect(h.sim.events({ type: 'sh.keptn.event.deliver.finished' })[0]!.data.sawProperties).to.deep.equal({
      strategy: 'direct',
    });
    expect(h.sim.events({ type: 'sh.keptn.event.test.triggered' })).to.deep.equal([]);
    // as shipyard-controller 1.4.5 sent it: the failing task's labels and message, the aggregated status
    // and result
    expect(h.sim.events({ type: 'sh.keptn.event.dev.delivery.finished' })[0]!.data).to.deep.equal({
      project: 'sockshop',
      stage: 'dev',
      service: 'carts',
      labels: { l: 'v' },
      status: 'succeeded',
      result: 'fail',
      message: 'deploy failed',
    });
  });

  it("triggers the next stage's sequence on a passed one (triggeredOn), with the merged data and the same context", async () => {
    h.sim.setShipyard('sockshop', {
      dev: { delivery: ['deliver'] },
      prod: { delivery: { tasks: ['deliver'], triggeredOn: ['dev.delivery.finished'] } },
    });
    await h
      .integration({ subscriptions: [{ event: 'sh.keptn.event.deliver.triggered' }] })
      .handle('deliver', async (e) =>
        e.data.service === 'broken'
          ? { result: 'fail' }
          : { deployment: { deploymentNames: [`${e.data.stage}`] } },
      )
      .start();
    const passing: KeptnEvent = {
      ...taskTrigger('x'),
      type: 'sh.keptn.event.dev.delivery.triggered',
      source: 'cli',
    };
    const failing: KeptnEvent = {
      ...taskTrigger('x', { service: 'broken' }),
      type: 'sh.keptn.event.dev.delivery.triggered',
      source: 'cli',
    };
    await h.publish(passing);
    await h.publish(failing);
    await eventually(
      () =>
        h.sim.events({ type: 'sh.keptn.event.prod.delivery.finished' }).length === 1 &&
        h.sim.events({ type: 'sh.keptn.event.dev.delivery.finished' }).length === 2,
    );
    const next = h.sim.events({ type: 'sh.keptn.event.prod.delivery.triggered' });
    expect(next).to.have.length(1);
    expect(next[0]!).to.include({ source: 'shipyard-controller', shkeptncontext: passing.shkeptncontext });
    expect(next[0]!.data).to.deep.include({
      project: 'sockshop',
      stage: 'prod',
      service: 'carts',
      result: 'pass',
      deployment: { deploymentNames: ['dev'] },
    });
    expect(h.sim.events({ type: 'sh.keptn.event.prod.delivery.finished' })[0]!.data).to.include({
      result: 'pass',
      stage: 'prod',
    });
  });

  it('finishes an unknown sequence as errored', async () => {
    await h.publish({ ...taskTrigger('x'), source: 'cli', type: 'sh.keptn.event.dev.nope.triggered' });
    await eventually(() => h.sim.events({ type: 'sh.keptn.event.dev.nope.finished' }).length === 1);
    expect(h.sim.events({ type: 'sh.keptn.event.dev.nope.finished' })[0]!.data).to.include({
      status: 'errored',
      result: 'fail',
    });
  });
});
