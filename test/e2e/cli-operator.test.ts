import { expect } from 'chai';
import { seedWaitingKustomization } from '../../service/sandbox/flux/index.js';
import { E2eSandbox, runCli } from '../support/e2e-harness.js';
import { SilentServer } from '../support/silent-server.js';

const TARGETS = `targets:
  - match: {project: op, stage: dev, service: held}
    flux: {kind: Kustomization, name: held, namespace: flux-system}
    timeout: 1m
  - match: {project: op, stage: dev, service: slow}
    argocd: {application: slow-dev}
    timeout: 1m
`;

/** What an operator meets when something is misconfigured: every command ends and says why. */
describe('e2e: the CLI when something is wrong', function () {
  this.timeout(60_000);

  describe('a NATS address that accepts TCP but never speaks NATS', () => {
    let silent: SilentServer;
    before(async () => (silent = await SilentServer.start()));
    after(async () => silent?.stop());

    it('check prints its FAIL lines and exits 1 within its stated time', async () => {
      const url = `nats://127.0.0.1:${silent.port}`;
      const started = Date.now();
      const result = await runCli(
        ['check'],
        {
          EVENTBROKER: url,
          SHIPYARD_CONTROLLER: `http://127.0.0.1:${silent.port}`,
          GITOPS_CONFIG: '/nonexistent/config.yaml',
        },
        45_000,
      );
      expect(result.code, result.stdout + result.stderr).to.equal(1);
      expect(Date.now() - started).to.be.below(40_000);
      const failed = result.stdout.split('\n').filter((l) => l.startsWith('FAIL'));
      expect(
        failed.find((l) => l.includes('nats')),
        result.stdout,
      ).to.include(url);
      expect(
        failed.find((l) => l.includes('control plane')),
        result.stdout,
      ).to.include('unreachable');
    });

    it('trigger says NATS cannot be reached and exits 5 (unavailable)', async () => {
      const url = `nats://127.0.0.1:${silent.port}`;
      const result = await runCli(
        ['trigger', '--project', 'p', '--stage', 's', '--service', 'v', '--wait', '--timeout', '1m'],
        { EVENTBROKER: url },
        30_000,
      );
      expect(result.code, result.stdout + result.stderr).to.equal(5);
      expect(result.stderr).to.include(url).and.include('EVENTBROKER');
    });
  });

  describe('--help', () => {
    // No environment that would let a command do anything: --help must not try.
    const nothing = { EVENTBROKER: 'nats://127.0.0.1:1', GITOPS_CONFIG: '/nonexistent/config.yaml' };
    for (const command of ['serve', 'check', 'demo', 'trigger']) {
      it(`${command} --help prints the command's usage and exit codes, exits 0 and does nothing else`, async () => {
        for (const flag of ['--help', '-h']) {
          const result = await runCli([command, flag], nothing, 10_000);
          expect(result.code, result.stderr).to.equal(0);
          expect(result.stdout).to.match(new RegExp(`^Usage: keptn-gitops ${command}`));
          expect(result.stdout).to.include('Exit codes:').and.include('3  trigger --wait timed out');
          expect(result.stderr).to.equal('');
        }
      });
    }

    it("help <command> prints that command's usage", async () => {
      const result = await runCli(['help', 'trigger'], nothing, 10_000);
      expect(result.code).to.equal(0);
      expect(result.stdout).to.include('--sequence S').and.include('--timeout D');
    });

    it("an unknown option of a command is a usage error with exit code 2 and that command's usage", async () => {
      const result = await runCli(['serve', '--port', '1'], nothing, 10_000);
      expect(result.code).to.equal(2);
      expect(result.stderr).to.include("'--port'").and.include('Usage: keptn-gitops serve');
    });

    it('--task with --sequence is refused as a usage error', async () => {
      const result = await runCli(
        [
          'trigger',
          '--project',
          'p',
          '--stage',
          's',
          '--service',
          'v',
          '--task',
          'deliver',
          '--sequence',
          'delivery',
        ],
        nothing,
        10_000,
      );
      expect(result.code).to.equal(2);
      expect(result.stderr).to.include('--task or --sequence, not both');
    });
  });

  describe('trigger --wait against a running service', () => {
    let sandbox: E2eSandbox;

    before(async () => {
      sandbox = await E2eSandbox.start({ argoStepMs: 1500 });
      sandbox.argocd.addApplication({ name: 'slow-dev', namespace: 'argocd' });
      seedWaitingKustomization(sandbox.kube, 'held', 'app');
      sandbox.flux.script('Kustomization', 'flux-system', 'held', { type: 'success', hold: true });
      sandbox.writeTargets(TARGETS);
      await sandbox.startService();
    });

    after(async () => {
      sandbox?.flux.markReady('held');
      await sandbox?.stop();
    });

    it('check names both causes of the 403 Argo CD answers for an application that does not exist', async () => {
      const file = sandbox.writeTargets(
        'targets:\n  - match: {project: op}\n    argocd: {application: no-such-app}\n',
        `${sandbox.dir}/missing-app.yaml`,
      );
      const result = await runCli(['check'], sandbox.env({ GITOPS_CONFIG: file }));
      expect(result.code).to.equal(1);
      const line = result.stdout.split('\n').find((l) => l.startsWith('FAIL application'));
      expect(line, result.stdout)
        .to.include('no-such-app')
        .and.include('403')
        .and.include('does not exist')
        .and.include('RBAC');
    });

    it('for a scope no integration answers: says what it waits for at once, then that no .started came, exit 3', async () => {
      const result = await runCli(
        [
          'trigger',
          '--project',
          'nobody',
          '--stage',
          'dev',
          '--service',
          'ghost',
          '--wait',
          '--timeout',
          '3s',
        ],
        { EVENTBROKER: sandbox.natsUrl },
      );
      expect(result.code, result.stdout + result.stderr).to.equal(3);
      const lines = result.stdout.split('\n');
      expect(lines[1], result.stdout).to.match(
        /^\[\s*0\.\ds\] waiting for deliver\.started from an integration subscribed to deliver for nobody\/dev\/ghost$/,
      );
      expect(result.stdout).to.match(
        /^result:\s+none: no \.started came within 3s: no integration took deliver for nobody\/dev\/ghost/m,
      );
    });

    it('for a task that started but does not finish in time: names who started it, exit 4', async () => {
      const result = await runCli(
        ['trigger', '--project', 'op', '--stage', 'dev', '--service', 'held', '--wait', '--timeout', '4s'],
        { EVENTBROKER: sandbox.natsUrl },
      );
      expect(result.code, result.stdout + result.stderr).to.equal(4);
      expect(result.stdout).to.match(/deliver started by gitops-service; waiting for deliver\.finished/);
      expect(result.stdout).to.match(
        /^result:\s+none: deliver was started by gitops-service but did not finish within 4s$/m,
      );
    });

    it("shows Flux's own phase of the target in the progress line (run with the service's environment)", async () => {
      const result = await runCli(
        ['trigger', '--project', 'op', '--stage', 'dev', '--service', 'held', '--wait', '--timeout', '5s'],
        sandbox.env(),
      );
      expect(result.code, result.stdout + result.stderr).to.equal(4);
      expect(result.stdout).to.match(
        /waiting for deliver\.finished; Flux Kustomization flux-system\/held: reconciling: Reconciliation in progress$/m,
      );
    });

    it("shows Argo CD's operation phase, sync and health status in the progress line", async () => {
      const result = await runCli(
        ['trigger', '--project', 'op', '--stage', 'dev', '--service', 'slow', '--wait', '--timeout', '50s'],
        sandbox.env(),
        60_000,
      );
      expect(result.code, result.stdout + result.stderr).to.equal(0);
      expect(result.stdout).to.match(
        /waiting for deliver\.finished; Argo CD slow-dev: operation Running \(.*\), sync \w+, health \w+$/m,
      );
    });
  });
});
