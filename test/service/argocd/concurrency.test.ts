import { expect } from 'chai';
import { counterValue, deliverRequest, startHarness, type Harness } from './harness.js';

describe('ArgoCdDeployer under load', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  it('runs 200 deliveries to 200 applications concurrently with a small constant number of API requests each', async () => {
    const apps = 200;
    h = await startHarness({ simulator: { validate: false } });
    for (let i = 0; i < apps; i++) h.sim.addApplication({ name: `svc-${i}-dev` });
    const results = await Promise.all(
      Array.from({ length: apps }, (_, i) =>
        h.deployer.deploy(deliverRequest(h, `svc-${i}-dev`, { timeoutMs: 10_000 })),
      ),
    );
    expect(results.filter((r) => r.result === 'pass')).to.have.length(apps);
    // One sync and one watch stream per delivery.
    expect(h.sim.requests.get('POST sync')).to.equal(apps);
    expect(h.sim.requests.get('GET stream')).to.equal(apps);
    const sent = await counterValue(h, 'gitops_api_requests_total', { tool: 'argocd' });
    expect(sent / apps).to.equal(2);
    expect(h.sim.totalRequests).to.equal(sent);
  });
});
