import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../support/e2e-harness.js';
import { repoRoot } from '../support/paths.js';

describe('e2e: npm run demo', function () {
  this.timeout(150_000);

  it('builds, then runs the demo, which answers every delivery as the sample project expects and exits 0', async () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    // The suite has just built dist/: run what the script runs after its build.
    expect(pkg.scripts.demo).to.equal('npm run build && node dist/service/cli/main.js demo');
    const result = await runCli(['demo'], {}, 140_000);
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    expect(result.stdout).to.contain(
      'demo: every delivery got one started and one finished; cartdb failed with the reason Flux reported.',
    );
  });
});
