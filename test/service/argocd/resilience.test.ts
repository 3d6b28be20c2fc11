import { expect } from 'chai';
import { eventually } from '../../support/eventually.js';
import { counterValue, deliverRequest, startHarness, type Harness } from './harness.js';

describe('ArgoCdDeployer resilience', () => {
  let h: Harness;
  afterEach(async () => {
    expect(h.sim.schemaErrors).to.deep.equal([]);
    await h.close();
  });

  it('reconnects when the watch stream drops', async () => {
    h = await startHarness();
    h.sim.addApplication({ name: 'carts-dev', script: { healthyAfterMs: 60_000 } });
    const pending = h.deployer.deploy(deliverRequest(h, 'carts-dev'));
    await eventually(() => {
      const { status, operation } = h.sim.application('carts-dev').app;
      expect(h.sim.requests.get('GET stream')).to.equal(1);
      expect(h.sim.syncCount('carts-dev')).to.equal(1);
      expect(operation).to.equal(undefined);
      expect(status.operationState?.finishedAt).to.be.a('string');
      expect(Date.parse(status.reconciledAt)).to.be.at.least(Date.parse(status.operationState.finishedAt));
    });
    h.sim.dropStreams();
    await eventually(() => expect(h.sim.requests.get('GET stream')).to.equal(2));
    h.sim.markHealthy('carts-dev');
    expect((await pending).result).to.equal('pass');
  });

  it('reconnects when the server ends the watch stream, and again, backing off, when it keeps dropping it', async () => {
    h = await startHarness();
    h.sim.addApplication({ name: 'carts-dev', script: { healthyAfterMs: 60_000 } });
    const pending = h.deployer.deploy(deliverRequest(h, 'carts-dev'));
    await eventually(() => {
      expect(h.sim.requests.get('GET stream')).to.equal(1);
      expect(h.sim.application('carts-dev').app.operation).to.equal(undefined);
    });
    h.sim.endStreams();
    await eventually(() => expect(h.sim.requests.get('GET stream')).to.equal(2));
    h.sim.dropStreams();
    await eventually(() => expect(h.sim.requests.get('GET stream')).to.equal(3));
    h.sim.dropStreams();
    await eventually(() => expect(h.sim.requests.get('GET stream')).to.equal(4));
    h.sim.markHealthy('carts-dev');
    expect((await pending).result).to.equal('pass');
    expect(h.sim.syncCount('carts-dev'), 'one sync through every reconnect').to.equal(1);
  });

  it('polls the application when the watch stream cannot be opened', async () => {
    h = await startHarness();
    h.sim.disableStreams();
    h.sim.addApplication({ name: 'carts-dev' });
    const result = await h.deployer.deploy(deliverRequest(h, 'carts-dev'));
    expect(result.result).to.equal('pass');
    expect(h.sim.requests.get('GET application')).to.be.greaterThan(0);
  });

  it('re-reads the application at once when nudged by a notification', async () => {
    h = await startHarness({ deployer: { pollIntervalMs: 60_000 } });
    h.sim.disableStreams();
    h.sim.addApplication({ name: 'carts-dev', script: { healthyAfterMs: 30 } });
    const pending = h.deployer.deploy(deliverRequest(h, 'carts-dev'));
    await eventually(() => {
      const { app } = h.sim.application('carts-dev');
      expect(h.sim.syncCount('carts-dev')).to.equal(1);
      expect(app.operation).to.equal(undefined);
      expect(app.status.health.status).to.equal('Healthy');
    });
    void h.deployer.nudge('Application/argocd/carts-dev');
    expect((await pending).result).to.equal('pass');
  });

  it('retries 5xx answers with backoff and counts every retry and request', async () => {
    h = await startHarness();
    h.sim.addApplication({ name: 'carts-dev' });
    h.sim.failNext(3);
    const result = await h.deployer.deploy(deliverRequest(h, 'carts-dev'));
    expect(result.result).to.equal('pass');
    expect(h.sim.syncCount('carts-dev')).to.equal(1);
    expect(await counterValue(h, 'gitops_api_retries_total', { tool: 'argocd', reason: '5xx' })).to.equal(3);
    expect(await counterValue(h, 'gitops_api_requests_total', { tool: 'argocd' })).to.equal(
      h.sim.totalRequests,
    );
  });

  it('resumes an operation an earlier instance started without syncing again', async () => {
    h = await startHarness();
    h.sim.addApplication({ name: 'carts-dev', script: { healthyAfterMs: 60_000 } });
    const request = deliverRequest(h, 'carts-dev');
    const first = h.deployer.deploy(request).catch((e: unknown) => e);
    await eventually(() => expect(h.sim.syncCount('carts-dev')).to.equal(1));
    await h.deployer.close();
    await first;
    const { ArgoCdDeployer } = await import('../../../service/deployers/argocd/index.js');
    const restarted = new ArgoCdDeployer({
      instances: () =>
        new Map([
          [
            'default',
            {
              name: 'default',
              server: h.sim.url,
              insecure: false,
              auth: h.deployer.client('default').instance.auth,
            },
          ],
        ]),
      logger: (await import('../../../lib/log.js')).silentLogger,
      retry: { initialMs: 5, maxMs: 20 },
    });
    try {
      const resumed = restarted.resume(request);
      await eventually(() => expect(h.sim.requests.get('GET application')).to.equal(1));
      h.sim.markHealthy('carts-dev');
      expect((await resumed).result).to.equal('pass');
      expect(h.sim.syncCount('carts-dev')).to.equal(1);
    } finally {
      await restarted.close();
    }
  });
});
