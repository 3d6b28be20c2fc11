import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { KeptnEvent } from '../../lib/index.js';
import { E2E_FLUX_HMAC_KEY, E2eSandbox, type RunningService } from '../support/e2e-harness.js';
import { eventually } from '../support/eventually.js';
import type { InstalledChart } from './support/chart.js';
import type { RealCluster } from './support/cluster.js';
import { FLUX_NAMESPACE, type RealFlux } from './support/flux.js';
import {
  chartFiles,
  deploymentYaml,
  gitRepository,
  helmRelease,
  helmRepository,
  kustomization,
} from './support/flux-objects.js';
import type { GitWorkingCopy } from './support/git-server.js';
import { sharedChart, sharedCluster, sharedFlux } from './support/shared-cluster.js';

const APPS = 'apps';
const image = (name: string, tag: string) => `registry.invalid/${name}:${tag}`;

describe('real flux: deliveries by the service as shipped, on the installed ServiceAccount token', function () {
  this.timeout(300_000);
  let cluster: RealCluster;
  let flux: RealFlux;
  let chart: InstalledChart;
  let sandbox: E2eSandbox;
  let service: RunningService;
  const repos: Record<string, GitWorkingCopy> = {};

  before(async function () {
    this.timeout(600_000);
    [cluster, flux, chart] = [await sharedCluster(), await sharedFlux(), await sharedChart()];
    await cluster.apply(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: APPS } }));
    const objects: object[] = [];
    for (const name of ['podinfo', 'stuck', 'broken', 'late', 'pulled']) {
      repos[name] = flux.git.createRepository(name);
      repos[name].commit('first version', { 'deployment.yaml': deploymentYaml(name, image(name, '1.0.0')) });
      objects.push(
        gitRepository(name, repos[name].url),
        kustomization(name, {
          repository: name,
          targetNamespace: APPS,
          // 30 s is kustomize-controller's least health-check timeout (Kustomization.GetTimeout).
          timeout: name === 'stuck' ? '30s' : '2m',
        }),
      );
    }
    objects.push(kustomization('paused', { repository: 'podinfo', targetNamespace: APPS, suspend: true }));

    const chartDir = join(cluster.dir, 'charts', 'web');
    for (const [path, content] of Object.entries(chartFiles('web'))) {
      mkdirSync(dirname(join(chartDir, path)), { recursive: true });
      writeFileSync(join(chartDir, path), content);
    }
    await flux.helmRepo.publish(chartDir, '1.0.0');
    objects.push(
      helmRepository('charts', flux.helmRepo.url),
      helmRelease('web', { chart: 'web', version: '1.x', repository: 'charts', targetNamespace: APPS }),
    );
    await cluster.apply(objects.map((o) => JSON.stringify(o)).join('\n'));
    for (const name of ['podinfo', 'stuck', 'broken', 'late', 'pulled'])
      await flux.ready('kustomization', name, 240_000);
    await flux.ready('helmrelease', 'web', 240_000);

    sandbox = await E2eSandbox.start({ kubeconfig: chart.kubeconfig });
    service = await sandbox.startService(serviceEnv());
  });

  after(async () => {
    await sandbox?.stop();
  });

  function serviceEnv(extra: Record<string, string> = {}): Record<string, string> {
    return {
      GITOPS_CONFIG: chart.targetsFile,
      KUBECONFIG: chart.kubeconfig,
      K8S_NAMESPACE: 'keptn',
      FLUX_WEBHOOK_HMAC_KEY: E2E_FLUX_HMAC_KEY,
      REPLICA_LEASE_SECONDS: '5',
      ...extra,
    };
  }

  /** The one `.finished` of a trigger, after checking it got exactly one `.started` and one `.finished`. */
  async function onlyFinished(trigger: KeptnEvent, timeoutMs = 240_000): Promise<KeptnEvent> {
    const finished = await sandbox.finished(trigger, timeoutMs);
    const answers = sandbox.answers(trigger);
    expect(answers.started, '.started events').to.have.length(1);
    expect(answers.finished, '.finished events').to.have.length(1);
    return finished;
  }

  async function deliver(event: KeptnEvent, timeoutMs?: number): Promise<KeptnEvent> {
    await sandbox.publish(event);
    return onlyFinished(event, timeoutMs);
  }

  const trigger = (service: string, data: Record<string, unknown> = {}) =>
    sandbox.taskTrigger({ project: 'shop', stage: 'dev', service }, data);
  const deploymentImage = async (name: string) =>
    cluster.kubectl([
      'get',
      'deployment',
      name,
      '-n',
      APPS,
      '-o',
      'jsonpath={.spec.template.spec.containers[0].image}',
    ]);
  const available = async (name: string) =>
    cluster.kubectl([
      'get',
      'deployment',
      name,
      '-n',
      APPS,
      '-o',
      'jsonpath={.status.conditions[?(@.type=="Available")].status}',
    ]);

  it('passes with the revision kustomize-controller applied, after a commit the source fetched, once the Deployment is Available', async () => {
    const sha = repos.podinfo!.commit('podinfo 1.1.0', {
      'deployment.yaml': deploymentYaml('podinfo', image('podinfo', '1.1.0')),
    });
    await flux.reconciled(
      'gitrepository',
      'podinfo',
      await flux.requestReconcile('gitrepository', 'podinfo'),
    );
    const finished = await deliver(trigger('podinfo'));
    expect(finished.data).to.include({ status: 'succeeded', result: 'pass' });
    const kustomizationNow = await flux.get('kustomization', 'podinfo');
    expect(kustomizationNow.status?.lastAppliedRevision).to.equal(`main@sha1:${sha}`);
    expect(finished.data.gitops).to.include({
      tool: 'flux',
      target: `Kustomization/${FLUX_NAMESPACE}/podinfo`,
      revision: `main@sha1:${sha}`,
    });
    expect(await deploymentImage('podinfo')).to.equal(image('podinfo', '1.1.0'));
    expect(await available('podinfo')).to.equal('True');
  });

  it('passes with a requested revision, reconciling the source first (withSource), the new image rolled out', async () => {
    const sha = repos.podinfo!.commit('podinfo 1.2.0', {
      'deployment.yaml': deploymentYaml('podinfo', image('podinfo', '1.2.0')),
    });
    const finished = await deliver(trigger('podinfo-fresh', { gitops: { revision: sha, stage: 'dev' } }));
    expect(finished.data, String(finished.data.message)).to.include({ status: 'succeeded', result: 'pass' });
    expect(finished.data.gitops).to.include({ revision: `main@sha1:${sha}` });
    expect((await flux.get('gitrepository', 'podinfo')).status?.artifact?.revision).to.equal(
      `main@sha1:${sha}`,
    );
    expect(await deploymentImage('podinfo')).to.equal(image('podinfo', '1.2.0'));
    expect(await available('podinfo')).to.equal('True');
  });

  it('passes with the chart version when a HelmRelease upgrades to a new chart version from the Helm repository', async () => {
    await flux.helmRepo.publish(join(cluster.dir, 'charts', 'web'), '1.1.0');
    await flux.reconciled(
      'helmrepository',
      'charts',
      await flux.requestReconcile('helmrepository', 'charts'),
    );
    const finished = await deliver(trigger('web'));
    expect(finished.data, String(finished.data.message)).to.include({ status: 'succeeded', result: 'pass' });
    expect(finished.data.gitops).to.include({
      tool: 'flux',
      target: `HelmRelease/${FLUX_NAMESPACE}/web`,
      revision: '1.1.0',
    });
    expect((await flux.get('helmrelease', 'web')).status?.history?.[0]?.chartVersion).to.equal('1.1.0');
    expect(await deploymentImage('web')).to.equal(image('web', '1.1.0'));
  });

  it("fails with Flux's own message, long before the target's timeout, when the committed Deployment never becomes ready", async () => {
    repos.stuck!.commit('stuck: no node will ever match', {
      'deployment.yaml': deploymentYaml('stuck', image('stuck', '2.0.0'), {
        'keptn-gitops-real/never': 'true',
      }),
    });
    const started = Date.now();
    const finished = await deliver(trigger('stuck'));
    expect(finished.data).to.include({ status: 'succeeded', result: 'fail' });
    const ready = (await flux.get('kustomization', 'stuck')).status?.conditions?.find(
      (c) => c.type === 'Ready',
    );
    expect(ready?.status).to.equal('False');
    expect(String(finished.data.message)).to.include(ready!.message!.split('\n')[0]!.slice(0, 60));
    expect(Date.now() - started, 'ms until .finished (target timeout 5m)').to.be.lessThan(120_000);
  });

  it("fails with Flux's own message when the commit holds an invalid manifest", async () => {
    repos.broken!.commit('broken: a Deployment without containers', {
      'deployment.yaml': deploymentYaml('broken', image('broken', '2.0.0')).replace(
        /containers:[\s\S]*$/,
        'containers: []\n',
      ),
    });
    const started = Date.now();
    const finished = await deliver(trigger('broken'));
    expect(finished.data).to.include({ status: 'succeeded', result: 'fail' });
    const ready = (await flux.get('kustomization', 'broken')).status?.conditions?.find(
      (c) => c.type === 'Ready',
    );
    expect(ready?.status).to.equal('False');
    expect(String(finished.data.message)).to.include('broken');
    expect(String(finished.data.message)).to.include(ready!.message!.split('\n')[0]!.slice(0, 60));
    expect(Date.now() - started, 'ms until .finished (target timeout 5m)').to.be.lessThan(120_000);
  });

  it('errors naming the Kustomization when it is suspended, and leaves it suspended', async () => {
    const finished = await deliver(trigger('paused'), 60_000);
    expect(finished.data).to.include({ status: 'errored', result: 'fail' });
    expect(String(finished.data.message))
      .to.include('paused')
      .and.match(/suspend/i);
    expect((await flux.get('kustomization', 'paused')).spec?.suspend).to.equal(true);
  });

  it('errors naming the Kustomization when it does not exist', async () => {
    const finished = await deliver(trigger('ghost'), 60_000);
    expect(finished.data).to.include({ status: 'errored', result: 'fail' });
    expect(String(finished.data.message)).to.include('ghost');
  });

  it('finishes a delivery whose service was killed mid-way: the record and marker on the API server, one .finished from the next process', async () => {
    const sha = repos.late!.commit('late: waits for a node that comes later', {
      'deployment.yaml': deploymentYaml('late', image('late', '2.0.0'), { 'keptn-gitops-real/late': 'true' }),
    });
    const event = trigger('late');
    await sandbox.publish(event);
    await eventually(() => expect(sandbox.answers(event).started).to.have.length(1), 30_000);
    await eventually(
      async () =>
        expect(
          (await flux.get('kustomization', 'late')).metadata.annotations?.['gitops.keptn.sh/delivery'],
        ).to.be.a('string'),
      60_000,
      300,
    );
    expect((await sandbox.deliveryRecords()).map((record) => record.triggeredid)).to.include(event.id);

    await service.proc.stop('SIGKILL');
    service = await sandbox.startService(serviceEnv({ K8S_POD_NAME: 'replacement' }));
    await cluster.addNode('kwok-node-late', { 'keptn-gitops-real/late': 'true' });

    const finished = await onlyFinished(event);
    expect(finished.data, String(finished.data.message)).to.include({ status: 'succeeded', result: 'pass' });
    expect(finished.data.gitops).to.include({ revision: `main@sha1:${sha}` });
    expect(await available('late')).to.equal('True');
    // The record stays as a tombstone (phase finished) so a late duplicate is recognised; the marker goes.
    await eventually(
      async () => {
        const record = (await sandbox.deliveryRecords()).find((r) => r.triggeredid === event.id);
        expect(record?.phase).to.equal('finished');
        expect(
          (await flux.get('kustomization', 'late')).metadata.annotations?.['gitops.keptn.sh/delivery'],
        ).to.equal(undefined);
      },
      30_000,
      300,
    );
    expect(sandbox.answers(event).finished).to.have.length(1);
  });

  it('starts the Keptn sequence once, with the revision, when notification-controller reports a new commit (generic-hmac Provider and Alert)', async () => {
    const secret = 'keptn-gitops-webhook';
    await cluster.apply(
      [
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: secret, namespace: FLUX_NAMESPACE },
          stringData: { token: E2E_FLUX_HMAC_KEY },
        },
        {
          apiVersion: 'notification.toolkit.fluxcd.io/v1beta3',
          kind: 'Provider',
          metadata: { name: 'keptn-gitops', namespace: FLUX_NAMESPACE },
          spec: {
            type: 'generic-hmac',
            address: `http://127.0.0.1:${service.webhookPort}/webhooks/flux`,
            secretRef: { name: secret },
          },
        },
        {
          apiVersion: 'notification.toolkit.fluxcd.io/v1beta3',
          kind: 'Alert',
          metadata: { name: 'keptn-gitops', namespace: FLUX_NAMESPACE },
          spec: {
            providerRef: { name: 'keptn-gitops' },
            eventSeverity: 'info',
            eventSources: [
              { kind: 'GitRepository', name: 'pulled' },
              { kind: 'Kustomization', name: 'pulled' },
            ],
          },
        },
      ]
        .map((o) => JSON.stringify(o))
        .join('\n'),
    );
    const sha = repos.pulled!.commit('pulled 1.1.0', {
      'deployment.yaml': deploymentYaml('pulled', image('pulled', '1.1.0')),
    });
    await flux.requestReconcile('gitrepository', 'pulled');
    const revision = `main@sha1:${sha}`;
    const sequences = () =>
      sandbox.controlPlane
        .events({ type: 'sh.keptn.event.dev.delivery.triggered' })
        .filter((e) => (e.data.gitops as { revision?: string } | undefined)?.revision === revision);
    const [started] = await eventually(
      () => {
        expect(sequences()).to.have.length(1);
        return sequences();
      },
      120_000,
      300,
    );
    expect(started!.data).to.include({ project: 'shop', stage: 'dev', service: 'pulled' });
    expect(started!.data.gitops).to.include({
      tool: 'flux',
      target: `Kustomization/${FLUX_NAMESPACE}/pulled`,
      revision,
    });
    // kustomize-controller applies the same revision and notification-controller reports that too: still one
    // sequence.
    await eventually(
      async () =>
        expect((await flux.get('kustomization', 'pulled')).status?.lastAppliedRevision).to.equal(revision),
      120_000,
      500,
    );
    await eventually(async () => expect(await fluxWebhookRequests()).to.be.at.least(2), 60_000, 300);
    expect(sequences()).to.have.length(1);
  });

  async function fluxWebhookRequests(): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${service.healthPort}/metrics`)).text();
    return text
      .split('\n')
      .filter((line) => line.startsWith('gitops_webhook_requests_total{') && line.includes('"flux"'))
      .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
  }
});
