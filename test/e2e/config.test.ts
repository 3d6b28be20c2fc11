import { join } from 'node:path';
import { expect } from 'chai';
import { REQUESTED_AT, seedGitRepository, seedKustomization } from '../../service/sandbox/flux/index.js';
import { E2E_ARGOCD_TOKEN, E2eSandbox, type RunningService } from '../support/e2e-harness.js';
import { eventually } from '../support/eventually.js';
import { ServiceProcess } from '../support/service-process.js';

const targets = (name: string) => `targets:
  - match: {project: reload, stage: dev}
    flux: {kind: Kustomization, name: ${name}, namespace: flux-system}
    timeout: 20s
`;

describe('e2e: the targets file', function () {
  this.timeout(60_000);
  let sandbox: E2eSandbox;

  before(async () => {
    sandbox = await E2eSandbox.start();
    seedGitRepository(sandbox.kube, { name: 'app', namespace: 'flux-system' });
    for (const name of ['alpha', 'beta', 'gamma']) {
      seedKustomization(sandbox.kube, {
        name,
        namespace: 'flux-system',
        wait: true,
        sourceRef: { kind: 'GitRepository', name: 'app' },
      });
    }
  });

  after(async () => {
    await sandbox?.stop();
  });

  describe('invalid at start', () => {
    async function startWith(
      yaml: string,
      extra: Record<string, string> = {},
    ): Promise<{ code: number | null; output: string; file: string }> {
      const file = sandbox.writeTargets(yaml, join(sandbox.dir, `invalid-${Date.now()}.yaml`));
      const proc = new ServiceProcess({
        env: sandbox.env({ GITOPS_CONFIG: file, HEALTH_ENDPOINT_PORT: '0', WEBHOOK_PORT: '0', ...extra }),
      });
      const code = await proc.exitCode();
      return { code, output: proc.output, file };
    }

    it('exits non-zero naming the file, the path and the unknown key', async () => {
      const { code, output, file } = await startWith(`targets:
  - match: {project: reload, stage: dev}
    flux: {kind: Kustomization, nmae: alpha}
`);
      expect(code).to.not.equal(0).and.not.equal(null);
      expect(output).to.include(file);
      expect(output).to.include('targets[0].flux');
      expect(output).to.include('nmae');
    });

    it('exits non-zero naming an environment variable the file needs but is not set', async () => {
      const { code, output, file } = await startWith(`argocd:
  instances:
    - name: prod
      server: https://argocd.prod.example.com
      tokenEnv: E2E_MISSING_ARGOCD_TOKEN
targets:
  - match: {project: reload}
    argocd: {application: app, instance: prod}
`);
      expect(code).to.not.equal(0).and.not.equal(null);
      expect(output).to.include(file);
      expect(output).to.include('argocd.instances[0]');
      expect(output).to.include('E2E_MISSING_ARGOCD_TOKEN').and.include('not set');
    });

    it('exits non-zero on a bad duration, saying what a duration looks like', async () => {
      const { code, output } = await startWith(`targets:
  - match: {project: reload}
    flux: {kind: Kustomization, name: alpha}
    timeout: soon
`);
      expect(code).to.not.equal(0).and.not.equal(null);
      expect(output).to.include('targets[0].timeout').and.include('90s');
    });
  });

  describe('reload while running', () => {
    let service: RunningService;

    before(async () => {
      sandbox.writeTargets(targets('alpha'));
      service = await sandbox.startService({ E2E_ADDED_ARGOCD_TOKEN: E2E_ARGOCD_TOKEN });
    });

    after(async () => {
      await service?.proc.stop();
    });

    const count = (text: string) => service.proc.lines.filter((l) => l.includes(text)).length;
    const deliverDev = async () => {
      const finished = await sandbox.deliver(
        sandbox.taskTrigger({ project: 'reload', stage: 'dev', service: 'app' }),
      );
      return finished.data;
    };

    it('runs on the Node.js of the test run (the supported line) and says which in its start-up line', async () => {
      // /ready can turn 200 a moment before the start-up line is read from the child's stdout.
      const started = await eventually(() => {
        const line = service.proc.lines.find((l) => l.includes('keptn-gitops-service started'));
        if (line === undefined) throw new Error('no start-up line yet');
        return line;
      }, 10_000);
      expect(JSON.parse(started)).to.include({ node: process.version });
    });

    it('uses the rewritten rule for the next delivery', async () => {
      expect((await deliverDev()).gitops).to.include({ target: 'Kustomization/flux-system/alpha' });
      const reloads = count('targets file reloaded');
      sandbox.writeTargets(targets('beta'));
      await eventually(() => count('targets file reloaded') > reloads, 10_000);
      const data = await deliverDev();
      expect(data).to.include({ status: 'succeeded', result: 'pass' });
      expect(data.gitops).to.include({ target: 'Kustomization/flux-system/beta' });
    });

    it('rejects an invalid new file, says why, and keeps the old one', async () => {
      const rejected = count('the changed targets file is invalid');
      sandbox.writeTargets(
        `targets:\n  - match: {project: reload, stage: dev}\n    flux: {kind: Kustomization, name: gamma, colour: blue}\n`,
      );
      await eventually(() => count('the changed targets file is invalid') > rejected, 10_000);
      const line = service.proc.lines.filter((l) => l.includes('the changed targets file is invalid')).pop()!;
      expect(line).to.include(sandbox.targetsFile).and.include('colour');
      const data = await deliverDev();
      expect(data).to.include({ status: 'succeeded', result: 'pass' });
      expect(data.gitops).to.include({ target: 'Kustomization/flux-system/beta' });
      expect((await fetch(`http://127.0.0.1:${service.healthPort}/ready`)).status).to.equal(200);
    });

    it('lets a running delivery keep its target when the file changes under it', async () => {
      sandbox.flux.script('Kustomization', 'flux-system', 'beta', { type: 'success', hold: true });
      const running = sandbox.taskTrigger({ project: 'reload', stage: 'dev', service: 'app' });
      const tokenBefore = sandbox.kube.get('Kustomization', 'flux-system', 'beta')?.metadata.annotations?.[
        REQUESTED_AT
      ];
      await sandbox.publish(running);
      await eventually(() => sandbox.answers(running).started.length === 1);
      await eventually(
        () =>
          sandbox.kube.get('Kustomization', 'flux-system', 'beta')?.metadata.annotations?.[REQUESTED_AT] !==
          tokenBefore,
      );

      const reloads = count('targets file reloaded');
      sandbox.writeTargets(targets('gamma'));
      await eventually(() => count('targets file reloaded') > reloads, 10_000);
      const next = await deliverDev();
      expect(next.gitops).to.include({ target: 'Kustomization/flux-system/gamma' });
      expect(sandbox.answers(running).finished).to.have.length(0);

      sandbox.flux.script('Kustomization', 'flux-system', 'beta', { type: 'success' });
      sandbox.flux.markReady('beta');
      const finished = await sandbox.finished(running);
      expect(finished.data).to.include({ status: 'succeeded', result: 'pass' });
      expect(finished.data.gitops).to.include({ target: 'Kustomization/flux-system/beta' });
    });

    it('delivers through an Argo CD instance that a reload added, without a restart', async () => {
      sandbox.argocd.addApplication({ name: 'app-dev', namespace: 'argocd', script: { outcome: 'success' } });
      const reloads = count('targets file reloaded');
      sandbox.writeTargets(`argocd:
  instances:
    - name: added
      server: ${sandbox.argocd.url}
      tokenEnv: E2E_ADDED_ARGOCD_TOKEN
targets:
  - match: {project: reload, stage: dev}
    argocd: {application: "\${service}-\${stage}", instance: added}
    timeout: 20s
`);
      await eventually(() => count('targets file reloaded') > reloads, 10_000);
      const data = await deliverDev();
      expect(data, String(data.message)).to.include({ status: 'succeeded', result: 'pass' });
      expect(data.gitops).to.include({ tool: 'argocd', instance: 'added' });
    });
  });
});
