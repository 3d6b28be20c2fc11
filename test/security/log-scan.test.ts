import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import {
  E2E_ARGOCD_TOKEN,
  E2E_KEPTN_TOKEN,
  E2E_KUBE_TOKEN,
  E2eSandbox,
  runCli,
} from '../support/e2e-harness.js';
import { eventually } from '../support/eventually.js';
import { TEST_SECRETS } from '../support/root-hooks.js';
import { SERVICE_LOG_FILE } from '../support/service-process.js';

/**
 * The service's own output, with every credential it was given, across failing paths that tend to
 * echo what they sent: a refused Argo CD token, a refused Keptn API token, a bad targets file.
 */
describe('security: secrets never appear in the service output', function () {
  this.timeout(60_000);
  let sandbox: E2eSandbox;

  before(async () => {
    sandbox = await E2eSandbox.start({ controlPlaneToken: E2E_KEPTN_TOKEN });
    sandbox.writeTargets(
      'targets:\n  - match: {project: sec}\n    argocd: {application: "${service}"}\n    timeout: 5s\n',
    );
  });

  after(async () => {
    await sandbox?.stop();
  });

  it('logs a refused Argo CD token without the token', async () => {
    const { proc } = await sandbox.startService({
      ARGOCD_AUTH_TOKEN: `${E2E_ARGOCD_TOKEN}-wrong`,
      LOG_LEVEL: 'debug',
    });
    const trigger = sandbox.taskTrigger({ project: 'sec', stage: 'dev', service: 'nope' });
    const finished = await sandbox.deliver(trigger);
    expect(finished.data).to.include({ status: 'errored', result: 'fail' });
    expect(JSON.stringify(finished)).to.not.include(E2E_ARGOCD_TOKEN);
    await proc.stop();
    expect(proc.output).to.not.include(E2E_ARGOCD_TOKEN);
  });

  it('logs a refused Keptn API token without the token', async () => {
    const { ServiceProcess } = await import('../support/service-process.js');
    const proc = new ServiceProcess({
      env: sandbox.env({
        KEPTN_API_ENDPOINT: sandbox.controlPlane.apiUrl,
        KEPTN_API_TOKEN: `${E2E_KEPTN_TOKEN}-wrong`,
        LOG_LEVEL: 'debug',
        HEALTH_ENDPOINT_PORT: '0',
        WEBHOOK_PORT: '0',
      }),
    });
    await eventually(() => expect(proc.output).to.match(/401|unauthenticated|invalid credentials/i), 15_000);
    await proc.stop();
    expect(proc.output).to.not.include(E2E_KEPTN_TOKEN);
  });

  it('scans for the Kubernetes token the service and the CLI are given, which is a real-looking credential', () => {
    const kubeconfig = parse(readFileSync(sandbox.kubeconfig, 'utf8')) as {
      users: { user: { token: string } }[];
    };
    const token = kubeconfig.users[0]!.user.token;
    expect(token).to.equal(E2E_KUBE_TOKEN).and.have.length.above(20);
    expect(TEST_SECRETS).to.include(token);
  });

  it('prints CLI output without the credentials, and the end-of-run scan reads that output too', async () => {
    const result = await runCli(
      ['check'],
      sandbox.env({ ARGOCD_AUTH_TOKEN: `${E2E_ARGOCD_TOKEN}-wrong`, LOG_LEVEL: 'debug' }),
    );
    const output = result.stdout + result.stderr;
    expect(output, 'the refused token is reported').to.match(/^FAIL.*argocd/m);
    for (const secret of [E2E_ARGOCD_TOKEN, E2E_KUBE_TOKEN]) expect(output).not.to.include(secret);
    expect(readFileSync(SERVICE_LOG_FILE, 'utf8')).to.include(result.stdout);
  });
});
