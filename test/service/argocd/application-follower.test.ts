import { expect } from 'chai';
import { ArgoCdClient } from '../../../service/deployers/argocd/index.js';
import { ApplicationFollower } from '../../../service/deployers/argocd/application-follower.js';
import { ArgoCdSimulator } from '../../../service/sandbox/argocd/index.js';
import { Secret } from '../../../service/config/secret.js';
import { silentLogger } from '../../../lib/log.js';
import { eventually } from '../../support/eventually.js';

describe('ApplicationFollower against the simulated Argo CD', () => {
  let sim: ArgoCdSimulator;
  let client: ArgoCdClient;
  const stop = new Set<() => void>();
  beforeEach(async () => {
    sim = await new ArgoCdSimulator().start({ tokens: ['t0k3n'], stepMs: 5 });
    client = new ArgoCdClient({
      instance: {
        name: 'default',
        server: sim.url,
        insecure: false,
        auth: { kind: 'token', token: new Secret('t0k3n') },
      },
      logger: silentLogger,
      retry: { initialMs: 5, maxMs: 10 },
    });
    sim.addApplication({ name: 'carts-dev' });
  });
  afterEach(async () => {
    for (const s of stop) s();
    stop.clear();
    await sim.stop();
  });

  const follower = (signal = new AbortController().signal) => {
    const f = new ApplicationFollower({
      client,
      name: 'carts-dev',
      scope: {},
      signal,
      deadline: Date.now() + 10_000,
      pollIntervalMs: 50,
      retry: { initialMs: 5, maxMs: 10 },
      logger: silentLogger,
    });
    stop.add(() => f.close());
    return f;
  };

  it('fails the wait with what deciding on a view threw (an application it cannot judge)', async () => {
    const f = follower();
    const err = await f
      .until(() => {
        throw new Error('cannot judge this application');
      })
      .catch((e: Error) => e);
    expect(err).to.be.an('error').with.property('message', 'cannot judge this application');
  });

  it('ends the wait with the abort reason when the delivery is aborted while it backs off between failed watch streams', async () => {
    const aborted = new AbortController();
    const f = follower(aborted.signal);
    const waiting = f.until(() => undefined).catch((e: Error) => e.message);
    await eventually(() => expect(sim.requests.get('GET stream')).to.equal(1));
    sim.dropStreams();
    await eventually(() => expect(sim.requests.get('GET stream')).to.equal(2));
    sim.dropStreams();
    aborted.abort(new Error('shutting down'));
    expect(await waiting).to.equal('shutting down');
  });
});
