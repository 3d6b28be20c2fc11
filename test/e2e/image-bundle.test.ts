import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { seedWaitingKustomization } from '../../service/sandbox/flux/index.js';
import { imageBin } from '../../service/sandbox/service-process.js';
import { packageVersion } from '../../service/util/package-version.js';
import { E2eSandbox, type RunningService } from '../support/e2e-harness.js';

/** The bundle the image runs (build/bundle.ts); the rest of the suite runs the compiled CLI. */
describe('e2e: the bundled CLI the image runs', function () {
  this.timeout(90_000);
  let sandbox: E2eSandbox;
  let service: RunningService;

  before(async () => {
    sandbox = await E2eSandbox.start();
    seedWaitingKustomization(sandbox.kube, 'app');
    sandbox.writeTargets(
      'targets:\n  - match: {project: bundle}\n    flux: {kind: Kustomization, name: app, namespace: flux-system}\n    timeout: 30s\n',
    );
    service = await sandbox.startService({}, { bin: imageBin() });
  });

  after(async () => {
    await sandbox?.stop();
  });

  it('answers a Flux delivery with one .started and a .finished pass, as the compiled CLI does', async () => {
    const finished = await sandbox.deliver(
      sandbox.taskTrigger({ project: 'bundle', stage: 'dev', service: 'app' }),
    );
    expect(finished.data).to.include({ status: 'succeeded', result: 'pass' });
    expect(service.proc.output).to.not.match(/Cannot find (module|package)|ERR_MODULE_NOT_FOUND/);
  });

  it('reports the package version', () => {
    const run = spawnSync(process.execPath, [imageBin(), '--version'], { encoding: 'utf8' });
    expect(run.stdout.trim()).to.equal(packageVersion());
  });

  it('leaves out the demo, the simulators and their schema validation; its demo command says where the demo is', () => {
    // esbuild names each module it bundles in a `// <path>` comment.
    const modules = [...bundleCode().matchAll(/^\/\/ (\S+\.js)$/gm)].map((m) => m[1]!);
    expect(modules.some((m) => m.startsWith('dist/service/cli/'))).to.equal(true);
    const tooling = /^(dist\/service\/(sandbox|demo)\/|node_modules\/ajv-formats\/)/;
    expect(modules.filter((m) => tooling.test(m))).to.deep.equal([]);
    const run = spawnSync(process.execPath, [imageBin(), 'demo'], { encoding: 'utf8' });
    expect(run.status).to.equal(2);
    expect(run.stderr).to.contain('npm run demo');
  });

  it('leaves out the generated Kubernetes API classes of client-node (their memory is the reason for the bundle)', () => {
    const code = bundleCode();
    expect(code).to.match(/\bKubeConfig = class\b/);
    for (const generated of [
      'CoreV1ApiRequestFactory',
      'ObjectCoreV1Api',
      'V1PodSpec',
      'AppsV1ApiRequestFactory',
    ])
      expect(code, generated).to.not.match(new RegExp(`\\b${generated}\\b`));
  });
});

function bundleCode(): string {
  return readdirSync(dirname(imageBin()))
    .filter((f) => f.endsWith('.js'))
    .map((f) => readFileSync(join(dirname(imageBin()), f), 'utf8'))
    .join('\n');
}
