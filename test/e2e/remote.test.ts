import { expect } from 'chai';
import { DEFAULT_GIT_REVISION } from '../../service/sandbox/flux/index.js';
import { E2E_KEPTN_TOKEN, E2eSandbox, runCli, type RunningService } from '../support/e2e-harness.js';
import { eventually } from '../support/eventually.js';

const TARGETS = `targets:
  - match: {project: remote, stage: dev}
    flux: {kind: Kustomization, name: "\${service}", namespace: flux-system}
    timeout: 20s
`;

describe('e2e: remote execution plane (KEPTN_API_ENDPOINT)', function () {
  this.timeout(60_000);
  let sandbox: E2eSandbox;
  let service: RunningService;

  before(async () => {
    sandbox = await E2eSandbox.start({ nats: false, controlPlaneToken: E2E_KEPTN_TOKEN });
    sandbox.seedPodinfo();
    sandbox.controlPlane.setShipyard('remote', { dev: { delivery: ['deliver'] } });
    sandbox.writeTargets(TARGETS);
    service = await sandbox.startService({
      KEPTN_API_ENDPOINT: sandbox.controlPlane.apiUrl,
      KEPTN_API_TOKEN: E2E_KEPTN_TOKEN,
    });
  });

  after(async () => {
    await sandbox?.stop();
  });

  it('registers through the API gateway as a remote execution plane', () => {
    const registration = sandbox.controlPlane.registrations().find((r) => r.name === 'gitops-service');
    expect(registration, 'registration').to.not.equal(undefined);
    expect(registration!.metadata.location).to.equal('remote-execution-plane');
    expect(registration!.subscriptions.map((s) => [s.event, s.filter?.projects])).to.deep.equal([
      ['sh.keptn.event.deliver.triggered', ['remote']],
    ]);
  });

  it('answers an open trigger through POST /api/v1/event with started then finished', async () => {
    const trigger = sandbox.taskTrigger({ project: 'remote', stage: 'dev', service: 'podinfo' });
    sandbox.controlPlane.injectTriggered(trigger);
    const finished = await sandbox.finished(trigger, 20_000);
    const { started } = sandbox.answers(trigger);
    expect(started).to.have.length(1);
    expect(sandbox.answers(trigger).finished).to.have.length(1);
    const all = sandbox.controlPlane.events({ triggeredid: trigger.id });
    expect(all.indexOf(started[0]!)).to.be.lessThan(all.indexOf(finished));
    expect(finished.shkeptncontext).to.equal(trigger.shkeptncontext);
    expect(finished.gitcommitid).to.equal(trigger.gitcommitid);
    expect(finished.data).to.include({
      project: 'remote',
      stage: 'dev',
      service: 'podinfo',
      status: 'succeeded',
      result: 'pass',
    });
    expect(finished.data.gitops).to.include({
      tool: 'flux',
      target: 'Kustomization/flux-system/podinfo',
      revision: DEFAULT_GIT_REVISION,
    });
    // answered once: the trigger left the open list with its .finished
    expect((await fetch(`http://127.0.0.1:${service.healthPort}/ready`)).status).to.equal(200);
  });

  it('starts a sequence through the Keptn API with the CLI, and the service delivers it', async () => {
    const result = await runCli(
      ['trigger', '--project', 'remote', '--stage', 'dev', '--service', 'podinfo', '--sequence', 'delivery'],
      {
        KEPTN_API_ENDPOINT: sandbox.controlPlane.apiUrl,
        KEPTN_API_TOKEN: E2E_KEPTN_TOKEN,
      },
    );
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    const finished = await eventually(() => {
      const seq = sandbox.controlPlane.events({ type: 'sh.keptn.event.dev.delivery.finished' });
      if (seq.length !== 1) throw new Error('sequence not finished yet');
      return seq[0]!;
    }, 20_000);
    expect(finished.data).to.include({ result: 'pass' });
    expect(result.stdout).to.include(finished.shkeptncontext);
  });

  it('follows a sequence started through the Keptn API to the task result with --wait', async () => {
    const result = await runCli(
      [
        'trigger',
        '--project',
        'remote',
        '--stage',
        'dev',
        '--service',
        'podinfo',
        '--sequence',
        'delivery',
        '--wait',
        '--timeout',
        '30s',
      ],
      {
        KEPTN_API_ENDPOINT: sandbox.controlPlane.apiUrl,
        KEPTN_API_TOKEN: E2E_KEPTN_TOKEN,
      },
    );
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    expect(result.stdout)
      .to.match(/result:\s+pass/)
      .and.match(/revision:\s+main@sha1:/);
  });

  it('refuses a task trigger from the CLI in remote mode, naming the reason', async () => {
    const result = await runCli(
      ['trigger', '--project', 'remote', '--stage', 'dev', '--service', 'podinfo', '--wait'],
      {
        KEPTN_API_ENDPOINT: sandbox.controlPlane.apiUrl,
        KEPTN_API_TOKEN: E2E_KEPTN_TOKEN,
      },
    );
    expect(result.code).to.not.equal(0).and.not.equal(null);
    expect(result.stderr).to.include('remote mode').and.include('KEPTN_API_ENDPOINT');
    expect(result.stderr).not.to.include(E2E_KEPTN_TOKEN);
  });
});
