import { expect } from 'chai';
import { DeployError } from '../../../service/deployers/deployer.js';
import { eventually } from '../../support/eventually.js';
import { deliverRequest, startHarness, type Harness } from './harness.js';

const WANTED = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const OTHER = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';

async function deployError(promise: Promise<unknown>): Promise<DeployError> {
  const err = await promise.then(
    (result) => expect.fail(`expected a DeployError, got ${JSON.stringify(result)}`),
    (e: unknown) => e,
  );
  expect(err).to.be.instanceOf(DeployError);
  return err as DeployError;
}

/** Every application state the deployer tells apart, as the simulated Argo CD produces it. */
describe('ArgoCdDeployer on each application state', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    expect(h.sim.schemaErrors, 'served applications match the CRD').to.deep.equal([]);
    await h.close();
  });

  it('sends fail naming both revisions when the sync applied another revision than the requested one', async () => {
    h.sim.addApplication({ name: 'carts-dev', script: { syncsRevision: OTHER } });
    const result = await h.deployer.deploy(deliverRequest(h, 'carts-dev', { requestedRevision: WANTED }));
    expect(result.result).to.equal('fail');
    expect(result.revision).to.equal(OTHER);
    expect(result.message).to.contain(`synced revision ${OTHER} but ${WANTED} was requested`);
  });

  it('sends fail with the operation message when the operation ends in phase Error', async () => {
    h.sim.addApplication({ name: 'carts-dev', script: { outcome: 'error' } });
    const result = await h.deployer.deploy(deliverRequest(h, 'carts-dev'));
    expect(result.result).to.equal('fail');
    expect(result.message).to.contain(
      'sync Error: rpc error: code = Unknown desc = Manifest generation error',
    );
  });

  it("waits through Terminating and sends fail when someone terminates the delivery's operation", async () => {
    h.sim.addApplication({ name: 'carts-dev', script: { hold: true } });
    const pending = h.deployer.deploy(deliverRequest(h, 'carts-dev', { timeoutMs: 10_000 }));
    await eventually(() =>
      expect(h.sim.application('carts-dev').app.status.operationState?.phase).to.equal('Running'),
    );
    expect(h.sim.terminateOperation('carts-dev')).to.equal(true);
    expect(h.sim.application('carts-dev').app.status.operationState.phase).to.equal('Terminating');
    const result = await pending;
    expect(result.result).to.equal('fail');
    expect(result.message).to.contain('sync Failed: Operation terminated');
  });

  it('times out saying the operation still runs when it never finishes', async () => {
    h.sim.addApplication({ name: 'carts-dev', script: { hold: true } });
    const pending = h.deployer.deploy(deliverRequest(h, 'carts-dev', { timeoutMs: 1500 }));
    await eventually(() =>
      expect(h.sim.application('carts-dev').app.status.operationState?.phase).to.equal('Running'),
    );
    const err = await deployError(pending);
    expect(err.kind).to.equal('timeout');
    expect(err.message).to.contain('it stood at: operation Running');
  });

  for (const health of ['Missing', 'Suspended', 'Unknown'] as const) {
    it(`keeps waiting while health is ${health} after the sync, and times out saying so`, async () => {
      h.sim.addApplication({ name: 'carts-dev', script: { health } });
      const err = await deployError(h.deployer.deploy(deliverRequest(h, 'carts-dev', { timeoutMs: 1500 })));
      expect(
        h.sim.application('carts-dev').app.status.health.status,
        'the simulator reached the state',
      ).to.equal(health);
      expect(err.kind).to.equal('timeout');
      expect(err.message).to.contain(`operation Succeeded`).and.contain(`health ${health}`);
    });
  }

  it('passes once an application that was Missing becomes Healthy', async () => {
    h.sim.addApplication({ name: 'carts-dev', script: { health: 'Missing' } });
    const pending = h.deployer.deploy(
      deliverRequest(h, 'carts-dev', { requestedRevision: WANTED, timeoutMs: 10_000 }),
    );
    await eventually(() =>
      expect(h.sim.application('carts-dev').app.status.health.status).to.equal('Missing'),
    );
    h.sim.markHealthy('carts-dev');
    expect(await pending).to.include({ result: 'pass', revision: WANTED });
  });
});
