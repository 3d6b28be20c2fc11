import { expect } from 'chai';
import {
  E2E_ARGOCD_WEBHOOK_TOKEN as WEBHOOK_TOKEN,
  E2eSandbox,
  type RunningService,
} from '../support/e2e-harness.js';
import { eventually } from '../support/eventually.js';

/**
 * A GitOps notification about an application a delivery follows wakes that delivery, through the
 * service process: with no watch stream the deployer re-reads the application only every 5 s, so a
 * `.finished` within moments of the notification is the notification's doing.
 */
describe('e2e: a notification wakes the delivery it concerns', function () {
  this.timeout(60_000);
  let sandbox: E2eSandbox;
  let service: RunningService;

  before(async () => {
    sandbox = await E2eSandbox.start();
    sandbox.argocd.disableStreams();
    sandbox.argocd.addApplication({
      name: 'carts',
      namespace: 'argocd',
      script: { healthyAfterMs: 600_000 },
    });
    sandbox.writeTargets(`webhooks:
  argocdTokenEnv: ARGOCD_WEBHOOK_TOKEN
targets:
  - match: {project: shop, stage: dev, service: carts}
    argocd: {application: carts}
    timeout: 1m
`);
    service = await sandbox.startService({ ARGOCD_WEBHOOK_TOKEN: WEBHOOK_TOKEN });
  });

  after(async () => {
    await sandbox?.stop();
  });

  it('finishes an Argo CD delivery as soon as the on-deployed notification arrives, not at the next poll', async () => {
    const trigger = sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'carts' });
    await sandbox.publish(trigger);
    const app = sandbox.argocd.application('carts');
    await eventually(() => {
      expect(app.app.status.operationState?.phase).to.equal('Succeeded');
      expect(app.app.status.reconciledAt >= app.app.status.operationState.finishedAt).to.equal(true);
      expect(app.app.status.health.status).to.equal('Progressing');
    }, 20_000);
    // Right after one of the service's polls, so the next one is about 5 s away.
    const reads = sandbox.argocd.requests.get('GET application') ?? 0;
    await eventually(
      () => expect(sandbox.argocd.requests.get('GET application') ?? 0).to.be.above(reads),
      10_000,
      5,
    );
    sandbox.argocd.markHealthy('carts');
    const notifiedAt = Date.now();
    const res = await fetch(`http://127.0.0.1:${service.webhookPort}/webhooks/argocd`, {
      method: 'POST',
      headers: { authorization: `Bearer ${WEBHOOK_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ instance: 'default', trigger: 'on-deployed', app: app.snapshot() }),
    });
    expect(res.status).to.equal(202);
    const finished = await sandbox.finished(trigger, 20_000);
    expect(Date.now() - notifiedAt, 'woken by the notification, not by the next poll').to.be.lessThan(2500);
    expect(finished.data).to.include({ status: 'succeeded', result: 'pass' });
    expect(sandbox.answers(trigger).finished).to.have.length(1);
  });
});
