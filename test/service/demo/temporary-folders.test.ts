import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { DemoSandbox } from '../../../service/demo/demo-sandbox.js';

describe('temporary folders', () => {
  it('the suite makes every temporary folder under its own, which the root hooks remove at the end', () => {
    expect(basename(tmpdir())).to.match(/^keptn-gitops-test-/);
  });

  it('the demo removes its folder (targets file, kubeconfig) when it stops', async () => {
    const sandbox = new DemoSandbox();
    await sandbox.start();
    expect(existsSync(sandbox.targetsFile)).to.equal(true);
    expect(dirname(sandbox.kubeconfig)).to.equal(sandbox.dir);
    await sandbox.stop();
    expect(existsSync(sandbox.dir)).to.equal(false);
  });
});
