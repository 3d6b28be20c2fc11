import { expect } from 'chai';
import { silentLogger, UniformClient, UniformRegistration } from '../../../lib/index.js';
import { ControlPlaneSimulator } from '../../../service/sandbox/controlplane/control-plane-simulator.js';
import { eventually } from '../../support/eventually.js';
import { metadata } from '../harness.js';

describe('UniformRegistration', () => {
  let sim: ControlPlaneSimulator;
  let client: UniformClient;
  let registration: UniformRegistration | undefined;

  beforeEach(async () => {
    sim = await ControlPlaneSimulator.start();
    client = new UniformClient({ baseUrl: sim.url });
  });
  afterEach(async () => {
    await registration?.stop();
    client.close();
    await sim.stop();
  });

  it('applies a changed subscription set again on the next ping when handing it on failed', async () => {
    const applied: string[][] = [];
    let failNext = false;
    registration = new UniformRegistration({
      client,
      name: 'gitops-service',
      metadata,
      subscriptions: [{ event: 'sh.keptn.event.deliver.triggered' }],
      logger: silentLogger,
      pingIntervalMs: 30,
      onSubscriptions: async (subscriptions) => {
        if (failNext) {
          failNext = false;
          throw new Error('JetStream consumer not created');
        }
        applied.push(subscriptions.map((s) => s.event));
      },
    });
    await registration.start();
    expect(applied).to.deep.equal([['sh.keptn.event.deliver.triggered']]);

    failNext = true;
    sim.setSubscriptions(registration.id!, [
      { event: 'sh.keptn.event.deliver.triggered' },
      { event: 'sh.keptn.event.rollback.triggered' },
    ]);
    await eventually(() => expect(applied).to.have.length(2));
    expect(applied[1]).to.deep.equal([
      'sh.keptn.event.deliver.triggered',
      'sh.keptn.event.rollback.triggered',
    ]);
    // Two more pings: the answer to the first of them has been handled once the second is sent.
    const pings = () => sim.requestCount(/^PUT \/v1\/uniform\/registration\/[^/]+\/ping$/);
    const from = pings();
    await eventually(() => pings() >= from + 2);
    expect(applied, 'applied once, not on every ping').to.have.length(2);
  });
});
