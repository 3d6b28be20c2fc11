import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../support/paths.js';
import { defaultValues } from './chart-files.js';

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}

interface Job {
  needs?: string | string[];
  permissions?: Record<string, string>;
  steps: Step[];
}

interface Workflow {
  on: { push?: { tags?: string[]; branches?: string[] } };
  permissions: Record<string, string>;
  env: Record<string, string>;
  jobs: Record<string, Job>;
}

const read = (...parts: string[]) => readFileSync(join(repoRoot, ...parts), 'utf8');
const workflow = parse(read('.github', 'workflows', 'release.yaml')) as Workflow;
const needs = (job: Job) => (Array.isArray(job.needs) ? job.needs : job.needs ? [job.needs] : []);
const stepUsing = (job: Job, action: string) => job.steps.filter((s) => s.uses?.startsWith(`${action}@`));
/** The job whose steps use this action (exactly one). */
function jobUsing(action: string): [string, Job] {
  const found = Object.entries(workflow.jobs).filter(([, job]) => stepUsing(job, action).length > 0);
  expect(
    found.map(([name]) => name),
    action,
  ).to.have.length.at.least(1);
  return found[0]!;
}

/** The release workflow cannot run here; this reads it as GitHub would and checks what it does. */
describe('.github/workflows/release.yaml', () => {
  it('runs on version tags only, with read-only default permissions', () => {
    expect(workflow.on.push?.tags).to.deep.equal(['v*']);
    expect(workflow.on.push?.branches).to.equal(undefined);
    expect(Object.keys(workflow.on)).to.deep.equal(['push']);
    expect(workflow.permissions).to.deep.equal({ contents: 'read' });
  });

  it('publishes nothing before the versions agree and the whole suite passed', () => {
    const verify = workflow.jobs.verify!;
    const run = verify.steps.map((s) => s.run ?? '').join('\n');
    expect(run).to.include('npm ci && npm test');
    expect(run).to.include('package.json').and.include('chart/Chart.yaml').and.include('CHANGELOG.md');
    for (const [name, job] of Object.entries(workflow.jobs))
      if (name !== 'verify') expect(needs(job), name).to.include('verify');
  });

  it('builds the image for linux/amd64 and linux/arm64, pushes it and attests its provenance', () => {
    const [, job] = jobUsing('docker/build-push-action');
    const build = stepUsing(job, 'docker/build-push-action')[0]!;
    expect(String(build.with?.platforms).split(',')).to.have.members(['linux/amd64', 'linux/arm64']);
    expect(build.with?.push).to.equal(true);
    expect(String(build.with?.provenance)).to.match(/^mode=max$|^true$/);
    expect(stepUsing(job, 'docker/setup-qemu-action')).to.have.length(1);
    expect(stepUsing(job, 'docker/setup-buildx-action')).to.have.length(1);
    const attest = stepUsing(job, 'actions/attest-build-provenance')[0]!;
    expect(attest.with?.['subject-digest']).to.equal(`\${{ steps.${build.id}.outputs.digest }}`);
    expect(attest.with?.['subject-name']).to.equal('${{ env.IMAGE }}');
    expect(job.permissions).to.include({ packages: 'write', 'id-token': 'write', attestations: 'write' });
  });

  it("pushes the chart as an OCI artifact with the tag's version and attests its provenance", () => {
    const [, job] = jobUsing('azure/setup-helm');
    const push = job.steps.find((s) => s.run?.includes('helm push'))!;
    expect(push.run).to.match(/helm package chart --version "\$VERSION" --app-version "\$VERSION"/);
    expect(push.run).to.match(/helm push "\$CHART_NAME-\$VERSION\.tgz" "\$CHART_REPO"/);
    expect(workflow.env.CHART_REPO).to.match(/^oci:\/\/ghcr\.io\//);
    const attest = stepUsing(job, 'actions/attest-build-provenance')[0]!;
    expect(attest.with?.['subject-digest']).to.equal(`\${{ steps.${push.id}.outputs.digest }}`);
    expect(job.permissions).to.include({ packages: 'write', 'id-token': 'write', attestations: 'write' });
    expect(needs(job)).to.include('image');
  });

  it('publishes the image the chart pulls by default, and the artifacts install.md installs', () => {
    const repository = (defaultValues().image as { repository: string }).repository;
    const owner = repository.split('/')[1]!;
    expect(workflow.env.IMAGE.replace('${{ github.repository_owner }}', owner)).to.equal(repository);
    const chartRef = `${workflow.env.CHART_REPO.replace('${{ github.repository_owner }}', owner)}/${workflow.env.CHART_NAME}`;
    const install = read('docs', 'install.md');
    expect(install).to.include(chartRef).and.include(`${repository}:<version>`);
  });

  it('pins every action to a major version', () => {
    for (const [name, job] of Object.entries(workflow.jobs)) {
      for (const step of job.steps) if (step.uses) expect(step.uses, name).to.match(/^[\w-]+\/[\w-]+@v\d+$/);
    }
  });
});
