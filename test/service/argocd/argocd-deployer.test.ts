import { expect } from 'chai';
import { DeployError } from '../../../service/deployers/deployer.js';
import { deliverRequest, startHarness, TOKEN, USER, type Harness } from './harness.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';

async function expectDeployError(promise: Promise<unknown>): Promise<DeployError> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(DeployError);
    return err as DeployError;
  }
  throw new Error('expected a DeployError');
}

describe('ArgoCdDeployer', () => {
  let h: Harness;
  afterEach(async () => {
    expect(h.sim.schemaErrors, 'served applications match the CRD').to.deep.equal([]);
    await h.close();
  });

  it('passes with the synced revision, images and external URLs when the application becomes healthy', async () => {
    h = await startHarness();
    h.sim.addApplication({
      name: 'carts-dev',
      images: ['docker.io/keptn/carts:0.13.1'],
      externalURLs: ['http://carts.dev.example.com'],
    });
    const result = await h.deployer.deploy(
      deliverRequest(h, 'carts-dev', {
        requestedRevision: SHA.slice(0, 7),
        prune: true,
        syncOptions: ['ServerSideApply=true'],
      }),
    );
    expect(result).to.include({
      result: 'pass',
      tool: 'argocd',
      instance: 'default',
      target: 'Application/argocd/carts-dev',
      revision: SHA.slice(0, 7) + result.revision!.slice(7),
    });
    expect(result.revision).to.have.length(40);
    expect(result.images).to.deep.equal(['docker.io/keptn/carts:0.13.1']);
    expect(result.externalURLs).to.deep.equal(['http://carts.dev.example.com']);
    expect(result.message).to.equal(
      `Application argocd/carts-dev synced to ${result.revision} on Argo CD instance 'default' and Healthy`,
    );
    expect(Date.parse(result.finishedAt)).to.be.at.least(Date.parse(result.startedAt));
    const body = h.sim.syncBodies[0]!;
    expect(body).to.deep.include({
      revision: SHA.slice(0, 7),
      prune: true,
      syncOptions: { items: ['ServerSideApply=true'] },
    });
    expect((body.infos as { name: string }[]).map((i) => i.name).sort()).to.deep.equal([
      'shkeptncontext',
      'triggeredid',
    ]);
  });

  it('sends appNamespace and project and omits the revision when none is requested', async () => {
    h = await startHarness();
    h.sim.addApplication({ name: 'carts-prod', namespace: 'shop', project: 'sockshop' });
    const result = await h.deployer.deploy(
      deliverRequest(h, 'carts-prod', { appNamespace: 'shop', project: 'sockshop' }),
    );
    expect(result.result).to.equal('pass');
    expect(result.target).to.equal('Application/shop/carts-prod');
    expect(h.sim.syncBodies[0]).to.include({ appNamespace: 'shop', project: 'sockshop' });
    expect(h.sim.syncBodies[0]).not.to.have.property('revision');
  });

  it('logs in with username and password and logs in again when the session expires', async () => {
    h = await startHarness({ auth: 'login' });
    h.sim.addApplication({ name: 'carts-dev' });
    expect((await h.deployer.deploy(deliverRequest(h, 'carts-dev'))).result).to.equal('pass');
    h.sim.expireSessions();
    expect((await h.deployer.deploy(deliverRequest(h, 'carts-dev'))).result).to.equal('pass');
    expect(h.sim.requests.get('POST session')).to.equal(2);
    expect(h.sim.syncCount('carts-dev')).to.equal(2);
  });

  it('sends fail with the operation and resource messages when the sync fails', async () => {
    h = await startHarness();
    h.sim.addApplication({ name: 'carts-dev', script: { outcome: 'failed' } });
    const result = await h.deployer.deploy(deliverRequest(h, 'carts-dev'));
    expect(result.result).to.equal('fail');
    expect(result.message).to.contain(
      "Application argocd/carts-dev on Argo CD instance 'default' failed: sync Failed",
    );
    expect(result.message).to.contain('one or more objects failed to apply');
    expect(result.message).to.contain('Deployment/carts-dev: Deployment.apps "carts-dev" is invalid');
  });

  it('sends fail when the application is degraded', async () => {
    h = await startHarness();
    h.sim.addApplication({ name: 'carts-dev', script: { outcome: 'degraded' } });
    const result = await h.deployer.deploy(deliverRequest(h, 'carts-dev'));
    expect(result.result).to.equal('fail');
    expect(result.message).to.contain('health Degraded');
    expect(result.message).to.contain(
      'Deployment/carts-dev: Deployment "carts-dev" exceeded its progress deadline',
    );
  });

  it('times out saying where a progressing application stood', async () => {
    h = await startHarness();
    h.sim.addApplication({ name: 'carts-dev', script: { outcome: 'progressing' } });
    const err = await expectDeployError(
      h.deployer.deploy(deliverRequest(h, 'carts-dev', { timeoutMs: 400 })),
    );
    expect(err.kind).to.equal('timeout');
    expect(err.message).to.contain(
      "application 'carts-dev' on Argo CD instance 'default' did not finish within 0s",
    );
    expect(err.message).to.contain('operation Succeeded');
    expect(err.message).to.contain('health Progressing (Deployment/carts-dev: Waiting for rollout to finish');
  });

  it('reports a missing application as permission denied without project and not found with it', async () => {
    h = await startHarness();
    const denied = await expectDeployError(h.deployer.deploy(deliverRequest(h, 'nope')));
    expect(denied.kind).to.equal('forbidden');
    expect(denied.message)
      .to.contain("application 'nope' on Argo CD instance 'default'")
      .and.contain('403 permission denied');
    const missing = await expectDeployError(
      h.deployer.deploy(deliverRequest(h, 'nope', { project: 'sockshop' })),
    );
    expect(missing.kind).to.equal('not-found');
    expect(missing.message).to.contain("application 'nope' on Argo CD instance 'default' not found: 404");
  });

  it('rejects bad credentials naming the application and instance but not the token', async () => {
    h = await startHarness({ simulator: { tokens: ['another-token'] } });
    h.sim.addApplication({ name: 'carts-dev' });
    const err = await expectDeployError(h.deployer.deploy(deliverRequest(h, 'carts-dev')));
    expect(err.kind).to.equal('auth');
    expect(err.message)
      .to.contain("application 'carts-dev' on Argo CD instance 'default'")
      .and.contain('401');
    expect(err.message).not.to.contain(TOKEN);
    expect(JSON.stringify(err) + String(err.stack))
      .not.to.contain(TOKEN)
      .and.not.to.contain(USER.password);
  });

  it('explains how to fix a revision refused because auto-sync pins another', async () => {
    h = await startHarness();
    h.sim.addApplication({ name: 'carts-dev', automated: true, targetRevision: 'main' });
    const err = await expectDeployError(
      h.deployer.deploy(deliverRequest(h, 'carts-dev', { requestedRevision: SHA })),
    );
    expect(err.kind).to.equal('refused');
    expect(err.message).to.contain(`Cannot sync to ${SHA}: auto-sync currently set to main`);
    expect(err.message).to.contain(
      'disable automated sync on the application, or request its targetRevision',
    );
  });

  it('refuses clearly when a sync window blocks the sync', async () => {
    h = await startHarness();
    h.sim.addApplication({ name: 'carts-dev' });
    h.sim.setSyncWindow('carts-dev', true);
    const err = await expectDeployError(h.deployer.deploy(deliverRequest(h, 'carts-dev')));
    expect(err.kind).to.equal('refused');
    expect(err.message).to.contain(
      "Argo CD refused to sync application 'carts-dev' on Argo CD instance 'default': 403 cannot sync: blocked by sync window",
    );
  });
});
