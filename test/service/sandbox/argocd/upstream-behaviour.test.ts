import { expect } from 'chai';
import { ArgoCdSimulator, resolveRevision } from '../../../../service/sandbox/argocd/index.js';
import { eventually } from '../../../support/eventually.js';

const TOKEN = 'sim-token';

/**
 * What Argo CD v3.2.11, the version the real systems tier runs, does and the simulator must do
 * too (server/application: Sync, TerminateOperation; controller: processRequestedAppOperation):
 * each case is a difference the simulator had.
 */
describe('ArgoCdSimulator: operation states as the real Argo CD has them', () => {
  let sim: ArgoCdSimulator;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${sim.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const get = async (name: string) => (await call('GET', `/api/v1/applications/${name}`)).body;

  beforeEach(async () => {
    sim = await new ArgoCdSimulator().start({ tokens: [TOKEN], stepMs: 80 });
  });
  afterEach(async () => {
    expect(sim.schemaErrors).to.deep.equal([]);
    await sim.stop();
  });

  it('a sync request records the resolved revision and clears operationState until the operation runs', async () => {
    sim.addApplication({ name: 'carts', targetRevision: 'main' });
    const before = (await get('carts')).status.operationState;
    const { status, body } = await call('POST', '/api/v1/applications/carts/sync', {
      name: 'carts',
      infos: [{ name: 'triggeredid', value: 't-1' }],
    });
    expect(status).to.equal(200);
    expect(body.operation.sync.revision).to.equal(resolveRevision('carts', 'main'));
    expect(body.status.operationState).to.equal(undefined);
    const picked = await eventually(async () => {
      const state = (await get('carts')).status.operationState;
      if (state.startedAt === before.startedAt) throw new Error('not picked up yet');
      return state;
    }, 5000);
    expect(picked.operation.info).to.deep.equal([{ name: 'triggeredid', value: 't-1' }]);
  });

  it('terminating: the operation stays set while Terminating, then ends Failed "Operation terminated"', async () => {
    sim.addApplication({ name: 'orders' });
    // Picked up (Running) after 3 s, done after 6 s unless terminated.
    sim.startOperation('orders', { durationMs: 9000 });
    await eventually(async () => (await get('orders')).status.operationState.phase === 'Running', 5000);
    expect((await call('DELETE', '/api/v1/applications/orders/operation')).status).to.equal(200);
    const terminating = await get('orders');
    expect(terminating.status.operationState.phase).to.equal('Terminating');
    expect(terminating.operation).to.not.equal(undefined);
    const ended = await eventually(async () => {
      const app = await get('orders');
      if (app.operation) throw new Error('still terminating');
      return app;
    }, 5000);
    expect(ended.status.operationState).to.include({ phase: 'Failed', message: 'Operation terminated' });
    expect(ended.status.operationState.finishedAt).to.be.a('string');
  });

  it('answers 415 to a request other than GET without a JSON content type, even without a body', async () => {
    sim.addApplication({ name: 'idle' });
    const res = await fetch(`${sim.url}/api/v1/applications/idle/operation`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.status).to.equal(415);
    expect(await res.text()).to.equal('Invalid content type\n');
  });

  it('answers 415 to a JSON content type with parameters (the whole header is compared)', async () => {
    sim.addApplication({ name: 'idle' });
    const res = await fetch(`${sim.url}/api/v1/applications/idle/sync`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json; charset=utf-8' },
      body: '{}',
    });
    expect(res.status).to.equal(415);
    expect(sim.syncCount('idle')).to.equal(0);
  });

  it('refuses to terminate an operation requested but not yet picked up by the controller (400, code 3), and leaves it set', async () => {
    sim.addApplication({ name: 'orders' });
    // Picked up (Running) after 3 s.
    sim.startOperation('orders', { durationMs: 9000 });
    const { status, body } = await call('DELETE', '/api/v1/applications/orders/operation');
    expect(status).to.equal(400);
    expect(body).to.include({
      code: 3,
      message: 'Unable to terminate operation. No operation is in progress',
    });
    const app = await get('orders');
    expect(app.operation).to.not.equal(undefined);
    expect(app.status.operationState).to.equal(undefined);
  });

  it("keeps the application's health without a message; the Deployment's health says why (Argo CD 3)", async () => {
    sim.addApplication({ name: 'stuck', script: { outcome: 'degraded', healthyAfterMs: 400 } });
    await call('POST', '/api/v1/applications/stuck/sync', { name: 'stuck' });
    const deploymentOf = (app: Record<string, any>) =>
      app.status.resources.find((r: any) => r.kind === 'Deployment');
    const progressing = await eventually(async () => {
      const app = await get('stuck');
      if (app.status.health.status !== 'Progressing') throw new Error('not progressing yet');
      return app;
    }, 5000);
    expect(progressing.status.resourceHealthSource).to.equal('appTree');
    expect(progressing.status.health).to.have.keys('status', 'lastTransitionTime');
    expect(deploymentOf(progressing).health.message).to.match(/^Waiting for rollout to finish/);
    const degraded = await eventually(async () => {
      const app = await get('stuck');
      if (app.status.health.status !== 'Degraded') throw new Error('not degraded yet');
      return app;
    }, 5000);
    expect(degraded.status.health).to.have.keys('status', 'lastTransitionTime');
    expect(deploymentOf(degraded).health).to.deep.equal({
      status: 'Degraded',
      message: 'Deployment "stuck" exceeded its progress deadline',
    });
  });

  it('terminating when nothing runs answers 400 with gRPC code 3 (InvalidArgument)', async () => {
    sim.addApplication({ name: 'idle' });
    const { status, body } = await call('DELETE', '/api/v1/applications/idle/operation');
    expect(status).to.equal(400);
    expect(body).to.include({
      code: 3,
      message: 'Unable to terminate operation. No operation is in progress',
    });
  });
});
