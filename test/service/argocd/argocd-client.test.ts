import { expect } from 'chai';
import { ArgoApiError, ArgoCdClient } from '../../../service/deployers/argocd/index.js';
import { ArgoCdSimulator } from '../../../service/sandbox/argocd/index.js';
import { Secret } from '../../../service/config/secret.js';
import { silentLogger } from '../../../lib/log.js';

describe('ArgoCdClient against the simulated Argo CD', () => {
  let sim: ArgoCdSimulator;
  let client: ArgoCdClient;
  beforeEach(async () => {
    sim = await new ArgoCdSimulator().start({ tokens: ['t0k3n'], stepMs: 5 });
    client = new ArgoCdClient({
      instance: {
        name: 'prod',
        server: sim.url,
        insecure: false,
        auth: { kind: 'token', token: new Secret('t0k3n') },
      },
      logger: silentLogger,
      retry: { initialMs: 5, maxMs: 10 },
    });
  });
  afterEach(() => sim.stop());

  it('lists applications by label selector', async () => {
    sim.addApplication({ name: 'carts-dev', labels: { team: 'payments' } });
    sim.addApplication({ name: 'orders-dev', labels: { team: 'orders' } });
    const apps = await client.listApplications('team=payments');
    expect(apps.map((a) => a.metadata.name)).to.deep.equal(['carts-dev']);
  });

  it('answers the Argo CD error body for an operation already in progress', async () => {
    sim.addApplication({ name: 'carts-dev' });
    sim.startOperation('carts-dev', { durationMs: 60_000 });
    const response = await fetch(`${sim.url}/api/v1/applications/carts-dev/sync`, {
      method: 'POST',
      headers: { authorization: 'Bearer t0k3n', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(response.status).to.equal(400);
    expect(await response.json()).to.deep.equal({
      error: 'another operation is already in progress',
      code: 9,
      message: 'another operation is already in progress',
    });
  });

  it('streams an initial ADDED snapshot, then MODIFIED on every change', async () => {
    sim.addApplication({ name: 'carts-dev' });
    const controller = new AbortController();
    const versions: string[] = [];
    const watching = (async () => {
      for await (const app of client.watch('carts-dev', {}, controller.signal)) {
        versions.push(app.metadata.resourceVersion!);
        if (versions.length === 1)
          await client.sync('carts-dev', { infos: [{ name: 'triggeredid', value: 'x' }] });
        if (
          app.status?.health?.status === 'Healthy' &&
          app.status.operationState?.phase === 'Succeeded' &&
          app.status.operationState.operation?.info
        )
          break;
      }
    })();
    await watching;
    controller.abort();
    expect(versions.length).to.be.at.least(5);
    expect(versions[0]).to.equal('1000');
  });

  it('throws an ArgoApiError with status and server message, never the token', async () => {
    const err = await client.getApplication('missing', { project: 'default' }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ArgoApiError);
    expect((err as ArgoApiError).status).to.equal(404);
    expect((err as ArgoApiError).message).to.equal(
      `Argo CD instance 'prod': get of application 'missing' failed: 404 applications.argoproj.io "missing" not found`,
    );
    expect((err as ArgoApiError).message).not.to.contain('t0k3n');
  });
});
