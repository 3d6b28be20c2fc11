import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVICE_NODE_FLAGS } from '../../service/node-flags.js';
import { repoRoot } from '../support/paths.js';

interface Instruction {
  op: string;
  args: string;
}

/** The Dockerfile's instructions (continuation lines joined, comments dropped), split by stage. */
function stages(): Instruction[][] {
  const text = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const out: Instruction[][] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m || line.trim().startsWith('#')) continue;
    const ins = { op: m[1]!.toUpperCase(), args: m[2]!.trim() };
    if (ins.op === 'FROM') out.push([]);
    out.at(-1)?.push(ins);
  }
  return out;
}

const runtime = () => stages().at(-1)!;
const find = (stage: Instruction[], op: string) => stage.filter((i) => i.op === op);

describe('Dockerfile', () => {
  it('builds in one stage and runs from another', () => {
    expect(stages().length).to.be.at.least(2);
    const build = stages()[0]!;
    expect(find(build, 'RUN').map((i) => i.args)).to.include.members([
      'npm ci --no-audit --no-fund --ignore-scripts',
      'npm run build',
    ]);
  });

  it('installs no dependencies in the runtime stage: the bundle carries them', () => {
    const runs = find(runtime(), 'RUN').map((i) => i.args);
    expect(runs.some((r) => /npm (ci|install)|npm run build/.test(r))).to.equal(false);
  });

  it('copies the bundle where the CLI is expected and package.json, and nothing of the simulators', () => {
    const copies = find(runtime(), 'COPY').map((i) => i.args);
    expect(copies).to.include('--from=build /app/dist/image ./dist/service/cli');
    expect(copies).to.include('package.json ./');
    expect(copies.filter((c) => /sandbox|crds/.test(c))).to.deep.equal([]);
  });

  it('runs as the non-root user 65532', () => {
    const users = find(runtime(), 'USER');
    expect(users.at(-1)?.args).to.match(/^65532(:65532)?$/);
  });

  it('starts the CLI with `serve` and the node flags the tests and the benchmark run it with', () => {
    expect(JSON.parse(find(runtime(), 'ENTRYPOINT').at(-1)!.args)).to.deep.equal([
      'node',
      ...SERVICE_NODE_FLAGS,
      'dist/service/cli/main.js',
    ]);
    expect(find(runtime(), 'CMD').at(-1)?.args).to.equal('["serve"]');
  });

  it('gives `npm start` the same node flags', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.start).to.equal(
      ['node', ...SERVICE_NODE_FLAGS, 'dist/service/cli/main.js', 'serve'].join(' '),
    );
  });

  it('exposes the health and webhook ports', () => {
    expect(find(runtime(), 'EXPOSE').at(-1)?.args.split(/\s+/)).to.have.members(['8080', '8090']);
  });
});
