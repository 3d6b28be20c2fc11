import { expect } from 'chai';
import { DeployError } from '../../../service/deployers/deployer.js';
import { resolveRevision } from '../../../service/sandbox/argocd/index.js';
import { eventually } from '../../support/eventually.js';
import { deliverRequest, startHarness, type Harness } from './harness.js';

const WANTED = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const OTHER = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';

describe('ArgoCdDeployer with an operation already running', () => {
  let h: Harness;
  afterEach(async () => {
    expect(h.sim.schemaErrors).to.deep.equal([]);
    await h.close();
  });

  it('follows a running auto-sync that deploys the requested revision, without a second sync', async () => {
    h = await startHarness();
    h.sim.addApplication({ name: 'carts-dev', automated: true, targetRevision: WANTED });
    h.sim.startOperation('carts-dev', { durationMs: 900 });
    const result = await h.deployer.deploy(deliverRequest(h, 'carts-dev', { requestedRevision: WANTED }));
    expect(result).to.include({ result: 'pass', revision: WANTED });
    expect(h.sim.syncCount('carts-dev')).to.equal(0);
    expect(h.sim.requests.get('POST sync')).to.equal(1);
  });

  it('follows a running auto-sync when no revision is requested', async () => {
    h = await startHarness();
    h.sim.addApplication({ name: 'carts-dev', automated: true, targetRevision: 'main' });
    h.sim.startOperation('carts-dev', { durationMs: 900 });
    const result = await h.deployer.deploy(deliverRequest(h, 'carts-dev'));
    expect(result).to.include({ result: 'pass', revision: resolveRevision('carts-dev', 'main') });
    expect(h.sim.syncCount('carts-dev')).to.equal(0);
  });

  it('syncs its own revision after a running operation that deployed another one', async () => {
    h = await startHarness();
    h.sim.addApplication({ name: 'carts-dev' });
    h.sim.startOperation('carts-dev', { revision: OTHER, durationMs: 900 });
    const result = await h.deployer.deploy(deliverRequest(h, 'carts-dev', { requestedRevision: WANTED }));
    expect(result).to.include({ result: 'pass', revision: WANTED });
    expect(h.sim.syncCount('carts-dev')).to.equal(1);
    expect(h.sim.requests.get('POST sync')).to.equal(2);
  });

  for (const mode of ['wait', 'terminate', 'fail'] as const) {
    it(`follows its own sync, applied but answered 500, instead of treating it as another operation (onRunningOperation: ${mode})`, async () => {
      h = await startHarness();
      h.sim.addApplication({ name: 'carts-dev', script: { outcome: 'success', healthyAfterMs: 100 } });
      h.sim.loseSyncResponses(1, 500);
      const result = await h.deployer.deploy(
        deliverRequest(h, 'carts-dev', { requestedRevision: WANTED, onRunningOperation: mode }),
      );
      expect(result).to.include({ result: 'pass', revision: WANTED });
      expect(h.sim.syncCount('carts-dev'), 'one sync applied').to.equal(1);
      expect(h.sim.requests.get('DELETE operation') ?? 0, 'its own operation not terminated').to.equal(0);
    });
  }

  it('terminates the running operation and then syncs when onRunningOperation is terminate', async () => {
    h = await startHarness();
    h.sim.addApplication({ name: 'carts-dev' });
    h.sim.startOperation('carts-dev', { revision: OTHER, durationMs: 60_000, pickUpMs: 10 });
    await eventually(() =>
      expect(h.sim.application('carts-dev').app.status.operationState?.phase).to.equal('Running'),
    );
    const result = await h.deployer.deploy(
      deliverRequest(h, 'carts-dev', { requestedRevision: WANTED, onRunningOperation: 'terminate' }),
    );
    expect(result).to.include({ result: 'pass', revision: WANTED });
    expect(h.sim.requests.get('DELETE operation')).to.equal(1);
    expect(h.sim.syncCount('carts-dev')).to.equal(1);
  });

  it('waits until the controller picks a just-requested operation up before terminating it (Argo CD refuses earlier)', async () => {
    h = await startHarness();
    h.sim.addApplication({ name: 'carts-dev' });
    h.sim.startOperation('carts-dev', { revision: OTHER, durationMs: 60_000, pickUpMs: 400 });
    const result = await h.deployer.deploy(
      deliverRequest(h, 'carts-dev', { requestedRevision: WANTED, onRunningOperation: 'terminate' }),
    );
    expect(result).to.include({ result: 'pass', revision: WANTED });
    expect(h.sim.requests.get('DELETE operation'), 'one termination, none refused').to.equal(1);
    expect(h.sim.syncCount('carts-dev')).to.equal(1);
  });

  it('syncs when the running operation ends by itself just before it could be terminated (Argo CD: "No operation is in progress")', async () => {
    h = await startHarness();
    h.sim.addApplication({ name: 'carts-dev' });
    h.sim.startOperation('carts-dev', { revision: OTHER, durationMs: 60_000, pickUpMs: 10 });
    await eventually(() =>
      expect(h.sim.application('carts-dev').app.status.operationState?.phase).to.equal('Running'),
    );
    h.sim.beforeNext('DELETE operation', () => h.sim.application('carts-dev').endOperation());
    const result = await h.deployer.deploy(
      deliverRequest(h, 'carts-dev', { requestedRevision: WANTED, onRunningOperation: 'terminate' }),
    );
    expect(result).to.include({ result: 'pass', revision: WANTED });
    expect(h.sim.requests.get('DELETE operation'), 'one termination, refused').to.equal(1);
    expect(h.sim.syncCount('carts-dev')).to.equal(1);
    const deployed = h.sim
      .application('carts-dev')
      .app.status.history.slice(-2)
      .map((d: { revision: string }) => d.revision);
    expect(deployed, 'the other operation ran to its end, then ours').to.deep.equal([OTHER, WANTED]);
  });

  it('fails naming the user who started the running operation when onRunningOperation is fail', async () => {
    h = await startHarness();
    h.sim.addApplication({ name: 'carts-dev' });
    h.sim.startOperation('carts-dev', { username: 'alice', durationMs: 60_000 });
    const err = await h.deployer
      .deploy(deliverRequest(h, 'carts-dev', { onRunningOperation: 'fail' }))
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(DeployError);
    expect((err as DeployError).kind).to.equal('refused');
    expect((err as DeployError).message).to.contain(
      'another operation is already in progress, started by alice',
    );
    expect(h.sim.syncCount('carts-dev')).to.equal(0);
  });

  it('names automated sync as the initiator of a running auto-sync', async () => {
    h = await startHarness();
    h.sim.addApplication({ name: 'carts-dev', automated: true });
    h.sim.startOperation('carts-dev', { durationMs: 60_000 });
    const err = (await h.deployer
      .deploy(deliverRequest(h, 'carts-dev', { onRunningOperation: 'fail' }))
      .catch((e: unknown) => e)) as DeployError;
    expect(err.message).to.contain('started by automated sync');
  });

  it('runs deliveries to the same application one at a time', async () => {
    h = await startHarness();
    h.sim.addApplication({ name: 'carts-dev' });
    const results = await Promise.all([
      h.deployer.deploy(deliverRequest(h, 'carts-dev', { requestedRevision: WANTED })),
      h.deployer.deploy(deliverRequest(h, 'carts-dev', { requestedRevision: OTHER })),
    ]);
    expect(results.map((r) => r.revision)).to.deep.equal([WANTED, OTHER]);
    expect(h.sim.requests.get('POST sync')).to.equal(2);
    await eventually(() => expect(h.sim.syncCount('carts-dev')).to.equal(2));
  });
});
