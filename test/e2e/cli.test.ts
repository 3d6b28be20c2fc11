import { expect } from 'chai';
import { seedKustomization } from '../../service/sandbox/flux/index.js';
import { E2E_ARGOCD_TOKEN, E2eSandbox, runCli, type CliResult } from '../support/e2e-harness.js';
import { freePort } from '../support/ports.js';

const TARGETS = `targets:
  - match: {project: cli, stage: dev, service: podinfo}
    flux: {kind: Kustomization, name: podinfo, namespace: flux-system}
    timeout: 20s
  - match: {project: cli, stage: dev, service: cartdb}
    flux: {kind: Kustomization, name: cartdb, namespace: flux-system}
    timeout: 20s
  - match: {project: cli, stage: prod, service: carts}
    argocd: {application: carts-prod}
    timeout: 20s
`;

const checkLines = (result: CliResult) => result.stdout.split('\n').filter(Boolean);

describe('e2e: the keptn-gitops CLI against the sandbox', function () {
  this.timeout(60_000);
  let sandbox: E2eSandbox;

  before(async () => {
    sandbox = await E2eSandbox.start();
    sandbox.seedPodinfo();
    // no spec.wait: `check` warns, deliveries still work
    seedKustomization(sandbox.kube, {
      name: 'cartdb',
      namespace: 'flux-system',
      sourceRef: { kind: 'GitRepository', name: 'podinfo' },
    });
    sandbox.flux.script('Kustomization', 'flux-system', 'cartdb', {
      type: 'stalled',
      reason: 'HealthCheckFailed',
      message: 'health check failed after 30s',
    });
    sandbox.argocd.addApplication({ name: 'carts-prod', namespace: 'argocd' });
    sandbox.controlPlane.setShipyard('cli', { dev: { delivery: ['deliver'] } });
    sandbox.writeTargets(TARGETS);
    await sandbox.startService();
  });

  after(async () => {
    await sandbox?.stop();
  });

  describe('trigger', () => {
    const natsEnv = () => ({ EVENTBROKER: sandbox.natsUrl });

    it('prints result, message and revision and exits 0 when the delivery passes', async () => {
      const result = await runCli(
        ['trigger', '--project', 'cli', '--stage', 'dev', '--service', 'podinfo', '--wait'],
        natsEnv(),
      );
      expect(result.code, result.stdout + result.stderr).to.equal(0);
      expect(result.stdout).to.match(/^result:\s+pass$/m);
      expect(result.stdout).to.match(/^message:\s+\S.*podinfo/m);
      expect(result.stdout).to.match(/^revision:\s+main@sha1:696f056/m);
      const finished = sandbox.controlPlane
        .events({ type: 'sh.keptn.event.deliver.finished' })
        .filter((e) => e.data.service === 'podinfo');
      expect(finished).to.have.length(1);
    });

    it('exits non-zero and prints the failure when the delivery fails', async () => {
      const result = await runCli(
        ['trigger', '--project', 'cli', '--stage', 'dev', '--service', 'cartdb', '--wait'],
        natsEnv(),
      );
      expect(result.code).to.not.equal(0).and.not.equal(null);
      expect(result.stdout).to.match(/^result:\s+fail$/m);
      expect(result.stdout).to.match(/^message:.*cartdb.*health check failed/m);
    });

    it('exits non-zero when the requested revision was not applied', async () => {
      const result = await runCli(
        [
          'trigger',
          '--project',
          'cli',
          '--stage',
          'dev',
          '--service',
          'podinfo',
          '--revision',
          '0123456789abcdef0123456789abcdef01234567',
          '--wait',
        ],
        natsEnv(),
      );
      expect(result.code).to.not.equal(0).and.not.equal(null);
      expect(result.stdout).to.match(/^result:\s+fail$/m);
      expect(result.stdout).to.include('0123456');
    });

    it('starts a sequence that the shipyard turns into a deliver task, and follows it to pass', async () => {
      const result = await runCli(
        [
          'trigger',
          '--project',
          'cli',
          '--stage',
          'dev',
          '--service',
          'podinfo',
          '--sequence',
          'delivery',
          '--wait',
        ],
        natsEnv(),
      );
      expect(result.code, result.stdout + result.stderr).to.equal(0);
      expect(result.stdout).to.match(/^result:\s+pass$/m);
      const sequence = sandbox.controlPlane.events({ type: 'sh.keptn.event.dev.delivery.triggered' });
      expect(sequence).to.have.length(1);
      const context = sequence[0]!.shkeptncontext!;
      const taskTrigger = sandbox.controlPlane.events({
        type: 'sh.keptn.event.deliver.triggered',
        shkeptncontext: context,
      });
      expect(taskTrigger).to.have.length(1);
      expect(taskTrigger[0]!.source).to.equal('shipyard-controller');
      expect(
        sandbox.controlPlane.events({
          type: 'sh.keptn.event.deliver.finished',
          triggeredid: taskTrigger[0]!.id,
        }),
      ).to.have.length(1);
    });

    it('refuses a task trigger in remote mode with a clear message', async () => {
      const result = await runCli(['trigger', '--project', 'cli', '--stage', 'dev', '--service', 'podinfo'], {
        KEPTN_API_ENDPOINT: sandbox.controlPlane.apiUrl,
        KEPTN_API_TOKEN: 'x',
      });
      expect(result.code).to.not.equal(0).and.not.equal(null);
      expect(result.stderr).to.include('remote mode').and.include('--sequence');
    });
  });

  describe('check', () => {
    it('prints one line per check and exits 0 when all pass, warning about a Kustomization without spec.wait', async () => {
      const result = await runCli(['check'], sandbox.env());
      expect(result.code, result.stdout + result.stderr).to.equal(0);
      const lines = checkLines(result);
      for (const line of lines) expect(line).to.match(/^(ok|warn) /);
      for (const name of ['config', 'nats', 'control plane', 'flux crd', 'rbac', 'argocd', 'application']) {
        expect(
          lines.some((l) => l.slice(5).startsWith(name)),
          `a '${name}' line in:\n${result.stdout}`,
        ).to.equal(true);
      }
      const warn = lines.filter((l) => l.startsWith('warn'));
      expect(warn).to.have.length(1);
      expect(warn[0]).to.include('cartdb').and.include('spec.wait');
    });

    it('fails naming Argo CD when its token is wrong, without printing the token', async () => {
      const result = await runCli(['check'], sandbox.env({ ARGOCD_AUTH_TOKEN: 'wrong-token-5e1f' }));
      expect(result.code).to.not.equal(0).and.not.equal(null);
      const failed = checkLines(result).filter((l) => l.startsWith('FAIL'));
      expect(failed.length).to.be.at.least(1);
      expect(failed[0]).to.include('argocd').and.include(sandbox.argocd.url);
      expect(result.stdout + result.stderr)
        .not.to.include('wrong-token-5e1f')
        .and.not.include(E2E_ARGOCD_TOKEN);
    });

    it('fails naming NATS when it is down', async () => {
      const dead = `nats://127.0.0.1:${await freePort()}`;
      const result = await runCli(['check'], sandbox.env({ EVENTBROKER: dead }));
      expect(result.code).to.not.equal(0).and.not.equal(null);
      const failed = checkLines(result).filter((l) => l.startsWith('FAIL'));
      expect(failed).to.have.length(1);
      expect(failed[0]).to.include('nats').and.include(dead);
    });
  });
});
