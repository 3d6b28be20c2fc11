import { expect } from 'chai';
import type { KeptnEvent } from '../../lib/index.js';
import { resolveRevision } from '../../service/sandbox/argocd/index.js';
import {
  DEFAULT_GIT_REVISION,
  seedGitRepository,
  seedKustomization,
} from '../../service/sandbox/flux/index.js';
import {
  E2E_ARGOCD_TOKEN,
  E2eSandbox,
  metricsText,
  metricValue,
  type RunningService,
} from '../support/e2e-harness.js';
import { eventually } from '../support/eventually.js';

const TARGETS = `# e2e: project shop (dev through Flux, prod through Argo CD), project web (Argo CD)
targets:
  - match: {project: shop, stage: dev, service: slow-flux}
    flux: {kind: Kustomization, name: "\${service}", namespace: flux-system}
    timeout: 2s
  - match: {project: shop, stage: prod, service: slow-argo}
    argocd: {application: "\${service}"}
    timeout: 2s
  - match: {project: shop, stage: dev, service: [podinfo, stalled, retrying, ghost, paused, locked]}
    flux:
      kind: Kustomization
      name: "\${service}"
      namespace: flux-system
    timeout: 20s
  - match: {project: shop, stage: prod}
    argocd:
      application: "\${service}-prod"
    timeout: 20s
  - match: {project: web, stage: staging, service: frontend}
    argocd: {application: frontend}
`;

const CARTS_IMAGES = ['docker.io/keptnexamples/carts:0.13.1'];
const CARTS_URLS = ['http://carts.shop-prod.example.com'];
const OTHER_SHA = 'b7c4e2f9a1d3c5e7f9b1d3c5e7f9a1b3c5d7e9f1';

describe('e2e: deliveries through the service process (NATS mode)', function () {
  this.timeout(60_000);
  let sandbox: E2eSandbox;
  let service: RunningService;

  before(async () => {
    sandbox = await E2eSandbox.start();
    const { kube, flux, argocd } = sandbox;
    seedGitRepository(kube, { name: 'podinfo', namespace: 'flux-system' });
    for (const name of ['podinfo', 'stalled', 'retrying', 'locked', 'slow-flux']) {
      seedKustomization(kube, {
        name,
        namespace: 'flux-system',
        wait: true,
        sourceRef: { kind: 'GitRepository', name: 'podinfo' },
      });
    }
    seedKustomization(kube, {
      name: 'paused',
      namespace: 'flux-system',
      wait: true,
      suspend: true,
      sourceRef: { kind: 'GitRepository', name: 'podinfo' },
    });
    flux.script('Kustomization', 'flux-system', 'stalled', {
      type: 'stalled',
      reason: 'HealthCheckFailed',
      message:
        "health check failed after 30s: timeout waiting for: [Deployment/shop-dev/stalled status: 'InProgress']",
    });
    flux.script('Kustomization', 'flux-system', 'retrying', {
      type: 'retry',
      reason: 'BuildFailed',
      message: 'kustomize build failed: accumulating resources: missing file deploy/service.yaml',
    });
    flux.script('Kustomization', 'flux-system', 'slow-flux', { type: 'success', hold: true });

    argocd.addApplication({
      name: 'carts-prod',
      namespace: 'argocd',
      images: CARTS_IMAGES,
      externalURLs: CARTS_URLS,
    });
    argocd.addApplication({ name: 'broken-prod', namespace: 'argocd', script: { outcome: 'failed' } });
    argocd.addApplication({ name: 'sick-prod', namespace: 'argocd', script: { outcome: 'degraded' } });
    argocd.addApplication({ name: 'windowed-prod', namespace: 'argocd' });
    argocd.setSyncWindow('windowed-prod', true);
    argocd.addApplication({
      name: 'pinned-prod',
      namespace: 'argocd',
      automated: true,
      targetRevision: 'main',
    });
    argocd.addApplication({ name: 'slow-argo', namespace: 'argocd', script: { outcome: 'progressing' } });
    argocd.addApplication({ name: 'frontend', namespace: 'argocd' });

    sandbox.writeTargets(TARGETS);
    service = await sandbox.startService({ TASKS: 'deliver,deployment' });
  });

  after(async () => {
    await sandbox?.stop();
  });

  /** Exactly one .started before exactly one .finished, with the envelope derived from the trigger. */
  function expectOneStartedThenFinished(trigger: KeptnEvent): { started: KeptnEvent; finished: KeptnEvent } {
    const { started, finished } = sandbox.answers(trigger);
    expect(started, 'started events').to.have.length(1);
    expect(finished, 'finished events').to.have.length(1);
    const all = sandbox.controlPlane.events({ triggeredid: trigger.id });
    expect(all.indexOf(started[0]!)).to.be.lessThan(all.indexOf(finished[0]!));
    // at intake, before any deploying: stamped within moments of the trigger
    expect(Date.parse(started[0]!.time!) - Date.parse(trigger.time!), '.started delay (ms)').to.be.lessThan(
      2_000,
    );
    for (const answer of [started[0]!, finished[0]!]) {
      expect(answer.shkeptncontext).to.equal(trigger.shkeptncontext);
      expect(answer.triggeredid).to.equal(trigger.id);
      expect(answer.gitcommitid).to.equal(trigger.gitcommitid);
      expect(answer.source).to.equal('gitops-service');
      expect(answer.data.project).to.equal(trigger.data.project);
      expect(answer.data.stage).to.equal(trigger.data.stage);
      expect(answer.data.service).to.equal(trigger.data.service);
      expect(answer.data.labels).to.deep.equal(trigger.data.labels);
    }
    return { started: started[0]!, finished: finished[0]! };
  }

  function expectTimes(gitops: Record<string, unknown>): void {
    const startedAt = Date.parse(String(gitops.startedAt));
    const finishedAt = Date.parse(String(gitops.finishedAt));
    expect(startedAt, 'gitops.startedAt').to.be.a('number').and.not.NaN;
    expect(finishedAt, 'gitops.finishedAt').to.be.at.least(startedAt);
  }

  describe('success', () => {
    it('answers started then succeeded/pass with the deployment and gitops blocks through Flux', async () => {
      const trigger = sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'podinfo' });
      await sandbox.deliver(trigger);
      const { started, finished } = expectOneStartedThenFinished(trigger);
      expect(started.type).to.equal('sh.keptn.event.deliver.started');
      expect(finished.data.status).to.equal('succeeded');
      expect(finished.data.result).to.equal('pass');
      expect(finished.data.message).to.be.a('string').and.include('podinfo');
      expect(finished.data.deployment).to.deep.equal({
        deploymentstrategy: 'direct',
        deploymentNames: ['direct'],
        deploymentURIsLocal: [],
        deploymentURIsPublic: [],
        gitCommit: DEFAULT_GIT_REVISION,
      });
      const gitops = finished.data.gitops as Record<string, unknown>;
      expect(gitops).to.include({
        tool: 'flux',
        target: 'Kustomization/flux-system/podinfo',
        revision: DEFAULT_GIT_REVISION,
      });
      expect(gitops).not.to.have.property('instance');
      expect(gitops.images).to.deep.equal([]);
      expectTimes(gitops);
    });

    it('answers started then succeeded/pass with URLs, images and instance through Argo CD', async () => {
      const trigger = sandbox.taskTrigger({ project: 'shop', stage: 'prod', service: 'carts' });
      await sandbox.deliver(trigger);
      const { finished } = expectOneStartedThenFinished(trigger);
      expect(finished.data.status).to.equal('succeeded');
      expect(finished.data.result).to.equal('pass');
      expect(finished.data.message).to.be.a('string').and.include('carts-prod');
      const revision = resolveRevision('carts-prod', 'HEAD');
      expect(finished.data.deployment).to.deep.equal({
        deploymentstrategy: 'direct',
        deploymentNames: ['direct'],
        deploymentURIsLocal: [],
        deploymentURIsPublic: CARTS_URLS,
        gitCommit: revision,
      });
      const gitops = finished.data.gitops as Record<string, unknown>;
      expect(gitops).to.include({
        tool: 'argocd',
        target: 'Application/argocd/carts-prod',
        instance: 'default',
        revision,
      });
      expect(gitops.images).to.deep.equal(CARTS_IMAGES);
      expectTimes(gitops);
      expect(sandbox.argocd.syncCount('carts-prod')).to.equal(1);
    });

    it('answers a second task named in TASKS the same way', async () => {
      const trigger = sandbox.taskTrigger(
        { project: 'shop', stage: 'dev', service: 'podinfo' },
        {},
        'deployment',
      );
      const finished = await sandbox.deliver(trigger);
      expect(finished.type).to.equal('sh.keptn.event.deployment.finished');
      expectOneStartedThenFinished(trigger);
      expect(finished.data).to.include({ status: 'succeeded', result: 'pass' });
    });
  });

  describe('Flux failures', () => {
    it('sends succeeded/fail naming the Kustomization when it is stalled', async () => {
      const trigger = sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'stalled' });
      const finished = await sandbox.deliver(trigger);
      expectOneStartedThenFinished(trigger);
      expect(finished.data).to.include({ status: 'succeeded', result: 'fail' });
      expect(finished.data.message).to.include('stalled').and.include('health check failed');
    });

    it('sends succeeded/fail at the first failed attempt (ProgressingWithRetry), long before the timeout', async () => {
      const trigger = sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'retrying' });
      const sent = Date.now();
      const finished = await sandbox.deliver(trigger, 15_000);
      expect(Date.now() - sent, 'time to .finished (timeout is 20s)').to.be.lessThan(8_000);
      expectOneStartedThenFinished(trigger);
      expect(finished.data).to.include({ status: 'succeeded', result: 'fail' });
      expect(finished.data.message).to.include('retrying').and.include('kustomize build failed');
    });

    it('sends succeeded/fail with both revisions when the applied revision differs from data.gitops.revision of this stage', async () => {
      const trigger = sandbox.taskTrigger(
        { project: 'shop', stage: 'dev', service: 'podinfo' },
        { gitops: { revision: OTHER_SHA, stage: 'dev' } },
      );
      const finished = await sandbox.deliver(trigger);
      expectOneStartedThenFinished(trigger);
      expect(finished.data).to.include({ status: 'succeeded', result: 'fail' });
      const message = String(finished.data.message);
      expect(message).to.include(OTHER_SHA.slice(0, 7));
      expect(message).to.include(DEFAULT_GIT_REVISION.split(':')[1]!.slice(0, 7));
      expect(message).to.include('podinfo');
    });

    it('does not count data.gitops.revision scoped to another stage', async () => {
      const trigger = sandbox.taskTrigger(
        { project: 'shop', stage: 'dev', service: 'podinfo' },
        { gitops: { revision: OTHER_SHA, stage: 'staging' } },
      );
      const finished = await sandbox.deliver(trigger);
      expect(finished.data).to.include({ status: 'succeeded', result: 'pass' });
    });

    it('accepts a short SHA prefix of the applied revision', async () => {
      const trigger = sandbox.taskTrigger(
        { project: 'shop', stage: 'dev', service: 'podinfo' },
        { gitops: { revision: DEFAULT_GIT_REVISION.split(':')[1]!.slice(0, 7), stage: 'dev' } },
      );
      const finished = await sandbox.deliver(trigger);
      expect(finished.data).to.include({ status: 'succeeded', result: 'pass' });
    });

    it('sends errored/fail naming the Kustomization when it does not exist', async () => {
      const trigger = sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'ghost' });
      const finished = await sandbox.deliver(trigger);
      expectOneStartedThenFinished(trigger);
      expect(finished.data).to.include({ status: 'errored', result: 'fail' });
      expect(finished.data.message)
        .to.include('ghost')
        .and.match(/not found/i);
      expect(finished.data.gitops).to.include({ tool: 'flux', reason: 'not-found' });
    });

    it('sends errored/fail naming the Kustomization when it is suspended', async () => {
      const trigger = sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'paused' });
      const finished = await sandbox.deliver(trigger);
      expectOneStartedThenFinished(trigger);
      expect(finished.data).to.include({ status: 'errored', result: 'fail' });
      expect(finished.data.message)
        .to.include('paused')
        .and.match(/suspend/i);
      expect(finished.data.gitops).to.include({ tool: 'flux', reason: 'suspended' });
    });

    it('sends errored/fail naming the object when RBAC forbids the patch', async () => {
      sandbox.kube.setRbac([
        { group: '', resource: '*', verbs: ['*'] },
        { group: 'coordination.k8s.io', resource: '*', verbs: ['*'] },
        { group: 'authorization.k8s.io', resource: '*', verbs: ['*'] },
        { group: 'source.toolkit.fluxcd.io', resource: '*', verbs: ['*'] },
        { group: 'helm.toolkit.fluxcd.io', resource: '*', verbs: ['*'] },
        { group: 'kustomize.toolkit.fluxcd.io', resource: 'kustomizations', verbs: ['get', 'list', 'watch'] },
        { group: 'kustomize.toolkit.fluxcd.io', resource: 'kustomizations/status', verbs: ['get'] },
      ]);
      try {
        const trigger = sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'locked' });
        const finished = await sandbox.deliver(trigger);
        expectOneStartedThenFinished(trigger);
        expect(finished.data).to.include({ status: 'errored', result: 'fail' });
        expect(finished.data.message)
          .to.include('locked')
          .and.match(/forbidden|rbac|not allowed|403/i);
      } finally {
        sandbox.kube.setRbac(undefined);
      }
    });

    it('sends errored/fail at the timeout saying where the reconcile stood', async () => {
      const trigger = sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'slow-flux' });
      const sent = Date.now();
      const finished = await sandbox.deliver(trigger, 15_000);
      expect(Date.now() - sent).to.be.at.least(1_900);
      expectOneStartedThenFinished(trigger);
      expect(finished.data).to.include({ status: 'errored', result: 'fail' });
      expect(finished.data.message)
        .to.include('slow-flux')
        .and.match(/did not finish|deadline|timed out/i)
        .and.include('Reconciliation in progress');
      sandbox.flux.markReady('slow-flux');
    });
  });

  describe('Argo CD failures', () => {
    it('sends succeeded/fail naming the application when the sync fails', async () => {
      const trigger = sandbox.taskTrigger({ project: 'shop', stage: 'prod', service: 'broken' });
      const finished = await sandbox.deliver(trigger);
      expectOneStartedThenFinished(trigger);
      expect(finished.data).to.include({ status: 'succeeded', result: 'fail' });
      expect(finished.data.message).to.include('broken-prod').and.match(/fail/i);
    });

    it('sends succeeded/fail naming the application when it turns Degraded', async () => {
      const trigger = sandbox.taskTrigger({ project: 'shop', stage: 'prod', service: 'sick' });
      const finished = await sandbox.deliver(trigger);
      expectOneStartedThenFinished(trigger);
      expect(finished.data).to.include({ status: 'succeeded', result: 'fail' });
      expect(finished.data.message).to.include('sick-prod').and.include('Degraded');
    });

    it('sends errored/fail naming the application when a sync window blocks the sync', async () => {
      const trigger = sandbox.taskTrigger({ project: 'shop', stage: 'prod', service: 'windowed' });
      const finished = await sandbox.deliver(trigger);
      expectOneStartedThenFinished(trigger);
      expect(finished.data).to.include({ status: 'errored', result: 'fail' });
      expect(finished.data.message)
        .to.include('windowed-prod')
        .and.match(/sync window/i);
      expect(sandbox.argocd.syncCount('windowed-prod')).to.equal(0);
    });

    it('sends errored/fail when auto-sync pins another revision than the requested one', async () => {
      const trigger = sandbox.taskTrigger(
        { project: 'shop', stage: 'prod', service: 'pinned' },
        { gitops: { revision: OTHER_SHA, stage: 'prod' } },
      );
      const finished = await sandbox.deliver(trigger);
      expectOneStartedThenFinished(trigger);
      expect(finished.data).to.include({ status: 'errored', result: 'fail' });
      expect(finished.data.message).to.include('pinned-prod').and.match(/auto/i);
    });

    it('sends errored/fail naming the application when it does not exist', async () => {
      const trigger = sandbox.taskTrigger({ project: 'shop', stage: 'prod', service: 'nosuch' });
      const finished = await sandbox.deliver(trigger);
      expectOneStartedThenFinished(trigger);
      expect(finished.data).to.include({ status: 'errored', result: 'fail' });
      expect(finished.data.message)
        .to.include('nosuch-prod')
        .and.match(/not found|does not exist/i);
      expect(finished.data.gitops).to.include({ tool: 'argocd', reason: 'forbidden' });
    });

    it('sends errored/fail at the timeout with the phase and health it stood at', async () => {
      const trigger = sandbox.taskTrigger({ project: 'shop', stage: 'prod', service: 'slow-argo' });
      const sent = Date.now();
      const finished = await sandbox.deliver(trigger, 15_000);
      expect(Date.now() - sent).to.be.at.least(1_900);
      expectOneStartedThenFinished(trigger);
      expect(finished.data).to.include({ status: 'errored', result: 'fail' });
      expect(finished.data.message)
        .to.include('slow-argo')
        .and.match(/did not finish|deadline|timed out/i)
        .and.include('health Progressing');
    });

    it('never puts the Argo CD token into an event or a log line', () => {
      expect(JSON.stringify(sandbox.controlPlane.events())).not.to.include(E2E_ARGOCD_TOKEN);
      expect(service.proc.output).not.to.include(E2E_ARGOCD_TOKEN);
    });
  });

  describe('scope and intake', () => {
    it('answers errored/fail naming the scope and the targets file when no target matches', async () => {
      const trigger = sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'unmatched' });
      const finished = await sandbox.deliver(trigger);
      expectOneStartedThenFinished(trigger);
      expect(finished.data).to.include({ status: 'errored', result: 'fail' });
      const message = String(finished.data.message);
      expect(message).to.include('shop').and.include('dev').and.include('unmatched');
      expect(message).to.include(sandbox.targetsFile);
    });

    it('does not answer triggers without project, stage or service, logs and counts each, and keeps running', async () => {
      const before = metricValue(
        await metricsText(service),
        'keptn_events_rejected_total{reason="missing-scope"}',
      );
      const noScope = sandbox.taskTrigger({});
      const noService = sandbox.taskTrigger({ project: 'shop', stage: 'dev' });
      await sandbox.publish(noScope);
      await sandbox.publish(noService);
      // a later trigger on the same connection is answered: the earlier ones were read by then
      const marker = sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'podinfo' });
      await sandbox.deliver(marker);
      for (const ignored of [noScope, noService]) {
        expect(
          sandbox.controlPlane.events({ triggeredid: ignored.id }),
          `answers to ${JSON.stringify(ignored.data)}`,
        ).to.deep.equal([]);
      }
      // Both: the one without a project too, although it matches none of the per-project subscriptions.
      expect(
        metricValue(await metricsText(service), 'keptn_events_rejected_total{reason="missing-scope"}'),
      ).to.equal(before + 2);
      expect((await fetch(`http://127.0.0.1:${service.healthPort}/health`)).status).to.equal(200);
      expect(service.proc.lines.some((l) => l.includes('cannot be answered'))).to.equal(true);
    });

    it('answers a trigger published twice with one started and one finished', async () => {
      const trigger = sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'podinfo' });
      await sandbox.publish(trigger);
      await sandbox.publish(trigger);
      await sandbox.finished(trigger);
      // the duplicate gets no answer of its own, even after a later delivery completed
      const marker = sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'podinfo' });
      await sandbox.deliver(marker);
      expectOneStartedThenFinished(trigger);
    });
  });

  describe('registration and endpoints', () => {
    it('registers with per-project subscriptions derived from the targets file', async () => {
      const registration = await eventually(() => {
        const found = sandbox.controlPlane.registrations().find((r) => r.name === 'gitops-service');
        if (!found) throw new Error('not registered');
        return found;
      });
      expect(registration.metadata.kubernetesmetadata.namespace).to.equal('keptn');
      expect(registration.metadata.hostname).to.be.a('string').and.not.equal('');
      const subscriptions = registration.subscriptions.map((s) => ({
        event: s.event,
        projects: s.filter?.projects ?? [],
        stages: [...(s.filter?.stages ?? [])].sort(),
        services: [...(s.filter?.services ?? [])].sort(),
      }));
      expect(subscriptions).to.have.deep.members([
        {
          event: 'sh.keptn.event.deliver.triggered',
          projects: ['shop'],
          stages: ['dev', 'prod'],
          services: [],
        },
        {
          event: 'sh.keptn.event.deliver.triggered',
          projects: ['web'],
          stages: ['staging'],
          services: ['frontend'],
        },
        {
          event: 'sh.keptn.event.deployment.triggered',
          projects: ['shop'],
          stages: ['dev', 'prod'],
          services: [],
        },
        {
          event: 'sh.keptn.event.deployment.triggered',
          projects: ['web'],
          stages: ['staging'],
          services: ['frontend'],
        },
      ]);
    });

    it('answers /health and /ready with 200 and serves keptn_ and gitops_ metrics', async () => {
      const base = `http://127.0.0.1:${service.healthPort}`;
      expect((await fetch(`${base}/health`)).status).to.equal(200);
      expect((await fetch(`${base}/ready`)).status).to.equal(200);
      const text = await metricsText(service);
      expect(text).to.match(/^keptn_events_received_total/m);
      expect(text).to.match(
        /^gitops_deliveries_total\{tool="flux",status="succeeded",result="pass"\} [1-9]/m,
      );
      expect(text).to.match(
        /^gitops_deliveries_total\{tool="argocd",status="succeeded",result="pass"\} [1-9]/m,
      );
      expect(text).to.match(/^gitops_delivery_errors_total\{tool="flux",reason="suspended"\} [1-9]/m);
      expect(text).to.match(/^gitops_delivery_errors_total\{tool="argocd",reason="forbidden"\} [1-9]/m);
    });
  });
});
