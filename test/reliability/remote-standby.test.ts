import { expect } from 'chai';
import { seedGitRepository, seedKustomization } from '../../service/sandbox/flux/index.js';
import { E2E_KEPTN_TOKEN, E2eSandbox, type RunningService } from '../support/e2e-harness.js';
import { eventually } from '../support/eventually.js';

const TARGETS = `targets:
  - match: {project: remote, stage: dev}
    flux: {kind: Kustomization, name: "\${service}", namespace: flux-system}
    timeout: 30s
`;

const polling = (r: RunningService) => r.proc.output.includes('this replica holds the poller lease');

describe('remote mode with several replicas: only the Lease holder polls the Keptn API', function () {
  this.timeout(60_000);
  let sandbox: E2eSandbox;
  let replicas: RunningService[];

  before(async () => {
    sandbox = await E2eSandbox.start({ nats: false, controlPlaneToken: E2E_KEPTN_TOKEN, fluxDelayMs: 50 });
    seedGitRepository(sandbox.kube, { name: 'podinfo', namespace: 'flux-system' });
    for (const name of ['podinfo', 'cartdb']) {
      seedKustomization(sandbox.kube, {
        name,
        namespace: 'flux-system',
        wait: true,
        sourceRef: { kind: 'GitRepository', name: 'podinfo' },
      });
    }
    sandbox.writeTargets(TARGETS);
    const env = {
      KEPTN_API_ENDPOINT: sandbox.controlPlane.apiUrl,
      KEPTN_API_TOKEN: E2E_KEPTN_TOKEN,
      REPLICA_LEASE_SECONDS: '2',
    };
    replicas = [
      await sandbox.startService({ ...env, K8S_POD_NAME: 'replica-a' }),
      await sandbox.startService({ ...env, K8S_POD_NAME: 'replica-b' }),
    ];
  });

  after(async () => {
    await sandbox?.stop();
  });

  it('lets exactly one replica poll, and answers an open trigger once', async () => {
    await eventually(() => expect(replicas.filter(polling)).to.have.length(1), 10_000);
    const trigger = sandbox.taskTrigger({ project: 'remote', stage: 'dev', service: 'podinfo' });
    sandbox.controlPlane.injectTriggered(trigger);
    await sandbox.finished(trigger, 20_000);
    expect(sandbox.answers(trigger).started).to.have.length(1);
    expect(sandbox.answers(trigger).finished).to.have.length(1);
  });

  it('has the standby take over when the polling replica dies', async () => {
    const leader = replicas.find(polling)!;
    const standby = replicas.find((r) => r !== leader)!;
    await leader.proc.stop('SIGKILL');
    await eventually(() => expect(polling(standby)).to.equal(true), 15_000);
    const trigger = sandbox.taskTrigger({ project: 'remote', stage: 'dev', service: 'cartdb' });
    sandbox.controlPlane.injectTriggered(trigger);
    const finished = await sandbox.finished(trigger, 20_000);
    expect(finished.data).to.include({ status: 'succeeded', result: 'pass' });
    expect(sandbox.answers(trigger).started).to.have.length(1);
  });
});
