import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../support/paths.js';

const read = (file: string) => readFileSync(join(repoRoot, file), 'utf8');
const pkg = JSON.parse(read('package.json')) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
};
const major = (version: string) => Number(/(\d+)/.exec(version)?.[1]);

/** The one supported Node.js line: the Node that `npm ci` installs for the scripts. */
const LINE = major(pkg.devDependencies.node!);

describe('the Node.js line', () => {
  it('is a maintained LTS line (24 or newer), pinned for the npm scripts', () => {
    expect(LINE).to.be.at.least(24);
    expect(pkg.devDependencies.node).to.match(/^\d+\.\d+\.\d+$/);
  });

  it('runs this suite, and so every service, demo and benchmark process it spawns (process.execPath)', () => {
    expect(major(process.versions.node)).to.equal(LINE);
  });

  it('is the one the image, engines and CI use', () => {
    const froms = [...read('Dockerfile').matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
    expect(froms).to.have.length.at.least(2);
    for (const image of froms) expect(image).to.equal(`node:${LINE}-alpine`);
    expect(major(pkg.engines.node)).to.equal(LINE);
    const ci = [...read('.github/workflows/ci.yaml').matchAll(/node-version:\s*(\S+)/g)].map((m) => m[1]);
    expect(ci).to.have.length.at.least(1);
    for (const version of ci) expect(major(version!)).to.equal(LINE);
  });
});
