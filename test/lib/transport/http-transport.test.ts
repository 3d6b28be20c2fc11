import { expect } from 'chai';
import {
  EventLoop,
  HttpTransport,
  KeptnIntegration,
  silentLogger,
  UniformClient,
  type IncomingMessage,
} from '../../../lib/index.js';
import { ControlPlaneSimulator } from '../../../service/sandbox/controlplane/control-plane-simulator.js';
import { eventually } from '../../support/eventually.js';
import { metadata, taskTrigger } from '../harness.js';

const TOKEN = 'sekret-token';

describe('HTTP mode (remote execution plane)', () => {
  let sim: ControlPlaneSimulator;
  const stops: (() => Promise<void>)[] = [];
  beforeEach(async () => {
    sim = await ControlPlaneSimulator.start({ token: TOKEN });
  });
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
    await sim.stop();
  });

  const kinds = (id: string) => sim.events({ triggeredid: id }).map((e) => e.type.split('.').pop());
  const pageRequests = () => sim.requestCount(/^GET \/api\/controlPlane\/v1\/event\/triggered\//);
  /**
   * Resolves once a whole poll of `pages` page requests has run after the call and its triggers
   * were handed on (the next poll only starts after that): 2 × `pages` more page requests.
   */
  const afterAWholePoll = async (pages = 1) => {
    const from = pageRequests();
    await eventually(() => pageRequests() >= from + 2 * pages);
  };

  it('registers through the gateway, polls open triggers and answers each once', async () => {
    let calls = 0;
    const i = new KeptnIntegration({
      name: 'gitops-service',
      mode: { kind: 'http', apiEndpoint: sim.apiUrl, token: { reveal: () => TOKEN }, pollIntervalMs: 20 },
      metadata: { ...metadata, location: 'remote-execution-plane' },
      subscriptions: [{ event: 'sh.keptn.event.deliver.triggered', filter: { projects: ['sockshop'] } }],
      logger: silentLogger,
      pingIntervalMs: 50,
    }).handle('deliver', async () => {
      calls++;
      // Running while the trigger stays open (it has a .started, no .finished): the polls see it again.
      await afterAWholePoll();
      return { message: 'ok' };
    });
    stops.push(() => i.stop({ deadlineMs: 500 }));
    await i.start();
    expect(sim.registrations()[0]!.metadata.location).to.equal('remote-execution-plane');
    const t = taskTrigger('deliver');
    sim.injectTriggered(t);
    await eventually(() => expect(kinds(t.id)).to.deep.equal(['started', 'finished']));
    expect(calls).to.equal(1);
    const finished = sim.events({ triggeredid: t.id })[1]!;
    expect(finished.data).to.include({
      status: 'succeeded',
      result: 'pass',
      message: 'ok',
      project: 'sockshop',
    });
    expect(finished.shkeptncontext).to.equal(t.shkeptncontext);
    const after = (await (
      await fetch(`${sim.url}/v1/event/triggered/sh.keptn.event.deliver.triggered`)
    ).json()) as { events: unknown[] };
    expect(after.events).to.deep.equal([]);
  });

  it('pages through open triggers and sends x-token', async () => {
    const transport = new HttpTransport({
      apiEndpoint: sim.apiUrl,
      token: TOKEN,
      logger: silentLogger,
      pollIntervalMs: 20,
      pageSize: 3,
    });
    const got: IncomingMessage[] = [];
    await transport.setSubscriptions([{ id: 's1', event: 'sh.keptn.event.deliver.triggered' }]);
    await transport.start((m) => got.push(m));
    stops.push(() => transport.close());
    const triggers = Array.from({ length: 8 }, () => taskTrigger('deliver'));
    for (const t of triggers) sim.injectTriggered(t);
    await eventually(() => got.length === 8);
    await afterAWholePoll(3);
    expect(got).to.have.length(8);
    expect(got.every((m) => m.subscriptionId === 's1')).to.equal(true);
    expect(transport.isSubscribed()).to.equal(true);
  });

  it('delivers only the open triggers that match every value of the subscription filter', async () => {
    const transport = new HttpTransport({
      apiEndpoint: sim.apiUrl,
      token: TOKEN,
      logger: silentLogger,
      pollIntervalMs: 20,
    });
    const got: IncomingMessage[] = [];
    await transport.setSubscriptions([
      {
        id: 's1',
        event: 'sh.keptn.event.deliver.triggered',
        filter: { projects: ['sockshop'], stages: ['dev', 'prod'] },
      },
    ]);
    await transport.start((m) => got.push(m));
    stops.push(() => transport.close());
    const dev = taskTrigger('deliver', { stage: 'dev' });
    const staging = taskTrigger('deliver', { stage: 'staging' });
    const otherProject = taskTrigger('deliver', { project: 'podtato', stage: 'prod' });
    for (const t of [dev, staging, otherProject]) sim.injectTriggered(t);
    await eventually(() => got.length === 1);
    await afterAWholePoll();
    expect(got.map((m) => JSON.parse(String(m.data)).id)).to.deep.equal([dev.id]);
  });

  it('polls a project Keptn does not have yet as one with no open triggers, not as a failed poll', async () => {
    const transport = new HttpTransport({
      apiEndpoint: sim.apiUrl,
      token: TOKEN,
      logger: silentLogger,
      pollIntervalMs: 20,
    });
    const got: string[] = [];
    await transport.setSubscriptions([
      { id: 's1', event: 'sh.keptn.event.deliver.triggered', filter: { projects: ['later'] } },
    ]);
    await transport.start((m) => got.push(JSON.parse(String(m.data)).id));
    stops.push(() => transport.close());
    // shipyard-controller answers 404 "project not found" for the project filter
    expect(
      (await fetch(`${sim.url}/v1/event/triggered/sh.keptn.event.deliver.triggered?project=later`)).status,
    ).to.equal(404);
    await afterAWholePoll();
    expect(transport.isSubscribed()).to.equal(true);
    const t = taskTrigger('deliver', { project: 'later' });
    sim.injectTriggered(t);
    await eventually(() => got.length === 1);
    expect(got).to.deep.equal([t.id]);
  });

  it('forgets a seen trigger only when it is gone from the latest poll', async () => {
    const transport = new HttpTransport({
      apiEndpoint: sim.apiUrl,
      token: TOKEN,
      logger: silentLogger,
      pollIntervalMs: 20,
    });
    const loopless: string[] = [];
    await transport.setSubscriptions([{ id: 's1', event: 'sh.keptn.event.deliver.triggered' }]);
    await transport.start((m) => loopless.push(JSON.parse(String(m.data)).id));
    stops.push(() => transport.close());
    const t = taskTrigger('deliver');
    sim.injectTriggered(t);
    await eventually(() => loopless.length === 1);
    await afterAWholePoll();
    expect(loopless).to.deep.equal([t.id]);
    // the task completes (as many .finished as .started), so the trigger leaves the open list
    await transport.publish({ ...t, type: 'sh.keptn.event.deliver.started', triggeredid: t.id });
    await transport.publish({
      ...t,
      type: 'sh.keptn.event.deliver.finished',
      triggeredid: t.id,
      data: { project: 'sockshop', stage: 'dev', service: 'carts', status: 'succeeded', result: 'pass' },
    });
    await afterAWholePoll();
    expect(loopless).to.have.length(1);
    sim.injectTriggered(t);
    await eventually(() => loopless.length === 2);
  });

  it('retries sends on 5xx and rejects a wrong token with 401', async () => {
    const transport = new HttpTransport({
      apiEndpoint: sim.apiUrl,
      token: TOKEN,
      logger: silentLogger,
      retry: { initialMs: 10, maxMs: 20 },
    });
    stops.push(() => transport.close());
    sim.failNext(2, 503);
    const t = taskTrigger('deliver');
    await transport.publish({ ...t, type: 'sh.keptn.event.deliver.started', triggeredid: t.id });
    expect(sim.events({ triggeredid: t.id })).to.have.length(1);
    const wrong = new UniformClient({ baseUrl: `${sim.apiUrl}/controlPlane`, token: 'nope' });
    const err = await wrong
      .register({
        name: 'x',
        metadata: {
          hostname: 'h',
          integrationversion: '',
          distributorversion: '',
          location: '',
          kubernetesmetadata: { namespace: 'n', podname: '', deploymentname: '' },
        },
        subscriptions: [],
      })
      .catch((e: Error) => e);
    wrong.close();
    expect((err as Error).message)
      .to.include('401')
      .and.not.include('nope');
  });

  it('answers triggers end to end with a bare EventLoop on the HTTP transport', async () => {
    const transport = new HttpTransport({
      apiEndpoint: sim.apiUrl,
      token: TOKEN,
      logger: silentLogger,
      pollIntervalMs: 20,
    });
    const loop = new EventLoop({
      name: 'x',
      source: transport,
      sink: transport,
      logger: silentLogger,
    }).handle('*', async () => {
      throw new Error('nope');
    });
    await loop.setSubscriptions([{ id: 'a', event: 'sh.keptn.event.test.triggered' }]);
    await loop.start();
    stops.push(() => loop.stop({ deadlineMs: 200 }));
    const t = taskTrigger('test');
    sim.injectTriggered(t);
    await eventually(() => expect(kinds(t.id)).to.deep.equal(['started', 'finished']));
    expect(sim.events({ triggeredid: t.id })[1]!.data).to.include({
      status: 'errored',
      result: 'fail',
      message: 'nope',
    });
  });
});
