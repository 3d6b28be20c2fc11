import { expect } from 'chai';
import { silentLogger, type KeptnEvent } from '../../../lib/index.js';
import { readEnv } from '../../../service/config/env.js';
import { startGitopsService, type RunningGitopsService } from '../../../service/gitops-service.js';
import { seedGitRepository, seedKustomization } from '../../../service/sandbox/flux/index.js';
import { E2eSandbox } from '../../support/e2e-harness.js';
import { eventually } from '../../support/eventually.js';

const TARGETS = `targets:
  - match: {project: shop, stage: dev, service: [podinfo, stalled, paused, missing]}
    flux: {kind: Kustomization, name: "\${service}", namespace: flux-system}
    deploymentName: podinfo-primary
    timeout: 20s
  - match: {project: shop, stage: prod}
    argocd: {application: "\${service}"}
    timeout: 20s
`;
const REVISION = 'main@sha1:696f056df216eea4f9401adbee0ff744d4df390f';
const MARKER = 'gitops.keptn.sh/delivery';

/**
 * The delivery path inside one process (the service as `serve` composes it, over a real
 * nats-server, the simulated control plane, Kubernetes with Flux, and Argo CD): what Keptn and the
 * cluster see for each outcome. The end-to-end tests run the same through the built binary; these
 * are the fast ones that mutation testing runs against the handler and the adopter.
 */
describe('the service in process: what each delivery outcome looks like to Keptn and the cluster', function () {
  this.timeout(60_000);
  let sandbox: E2eSandbox;
  let service: RunningGitopsService;

  before(async () => {
    sandbox = await E2eSandbox.start({ fluxDelayMs: 20, argoStepMs: 15 });
    const { kube, flux, argocd } = sandbox;
    seedGitRepository(kube, { name: 'podinfo', namespace: 'flux-system', revision: REVISION });
    for (const name of ['podinfo', 'stalled'])
      seedKustomization(kube, {
        name,
        namespace: 'flux-system',
        wait: true,
        sourceRef: { kind: 'GitRepository', name: 'podinfo' },
      });
    seedKustomization(kube, {
      name: 'paused',
      namespace: 'flux-system',
      suspend: true,
      sourceRef: { kind: 'GitRepository', name: 'podinfo' },
    });
    flux.script('Kustomization', 'flux-system', 'stalled', {
      type: 'stalled',
      reason: 'BuildFailed',
      message: 'kustomize build failed: missing deploy/service.yaml',
    });
    argocd.addApplication({
      name: 'carts',
      namespace: 'argocd',
      images: ['docker.io/keptn/carts:0.13.1'],
      externalURLs: ['http://carts.example.com'],
    });
    argocd.addApplication({ name: 'sick', namespace: 'argocd', script: { outcome: 'degraded' } });
    sandbox.writeTargets(TARGETS);
    const env = readEnv(
      sandbox.env({
        HEALTH_ENDPOINT_PORT: '0',
        WEBHOOK_PORT: '0',
        NATS_JETSTREAM: 'false',
        REPLICA_LEASE_SECONDS: '2',
        K8S_POD_NAME: 'in-process',
      }),
    );
    service = await startGitopsService({ env, logger: silentLogger });
  });

  after(async () => {
    await service?.stop();
    await sandbox?.stop();
  });

  async function deliver(
    scope: { project: string; stage: string; service: string },
    data: Record<string, unknown> = {},
  ): Promise<KeptnEvent> {
    const trigger = sandbox.taskTrigger(scope, data);
    const finished = await sandbox.deliver(trigger, 30_000);
    await eventually(async () =>
      expect(
        (await sandbox.deliveryRecords()).filter((r) => r.phase !== 'finished'),
        'no record left but tombstones',
      ).to.deep.equal([]),
    );
    const answers = sandbox.answers(trigger);
    expect(answers.started, 'one .started').to.have.length(1);
    expect(answers.finished, 'one .finished').to.have.length(1);
    return finished;
  }

  it("passes a Flux delivery with the requested revision and the rule's deploymentName, and clears its marker", async () => {
    const finished = await deliver(
      { project: 'shop', stage: 'dev', service: 'podinfo' },
      {
        gitops: { revision: '696f056', stage: 'dev' },
        deliver: { deploymentstrategy: 'blue_green_service' },
      },
    );
    expect(finished.data).to.include({ status: 'succeeded', result: 'pass' });
    expect(finished.data.deployment).to.deep.include({
      deploymentstrategy: 'blue_green_service',
      deploymentNames: ['podinfo-primary'],
    });
    expect(finished.data.gitops).to.include({
      tool: 'flux',
      target: 'Kustomization/flux-system/podinfo',
      revision: REVISION,
    });
    expect(
      sandbox.kube.get('Kustomization', 'flux-system', 'podinfo')!.metadata.annotations?.[MARKER],
    ).to.equal(undefined);
  });

  it("fails a Flux delivery whose Kustomization stalls, with Flux's reason", async () => {
    const finished = await deliver({ project: 'shop', stage: 'dev', service: 'stalled' });
    expect(finished.data).to.include({ status: 'succeeded', result: 'fail' });
    expect(finished.data.message).to.contain('kustomize build failed: missing deploy/service.yaml');
  });

  it('answers errored naming the suspended Kustomization and the target', async () => {
    const finished = await deliver({ project: 'shop', stage: 'dev', service: 'paused' });
    expect(finished.data).to.include({ status: 'errored', result: 'fail' });
    expect(finished.data.message).to.contain('flux resume kustomization paused -n flux-system');
    expect(finished.data.gitops).to.deep.equal({
      tool: 'flux',
      target: 'Kustomization/flux-system/paused',
      reason: 'suspended',
    });
  });

  it('answers errored naming the missing Kustomization', async () => {
    const finished = await deliver({ project: 'shop', stage: 'dev', service: 'missing' });
    expect(finished.data).to.include({ status: 'errored', result: 'fail' });
    expect(finished.data.message).to.contain('Kustomization flux-system/missing not found');
  });

  it('passes an Argo CD delivery with the images and external URLs, and the default deploymentName', async () => {
    const finished = await deliver({ project: 'shop', stage: 'prod', service: 'carts' });
    expect(finished.data).to.include({ status: 'succeeded', result: 'pass' });
    expect(finished.data.deployment).to.deep.include({
      deploymentstrategy: 'direct',
      deploymentNames: ['direct'],
      deploymentURIsPublic: ['http://carts.example.com'],
    });
    expect(finished.data.gitops).to.include({
      tool: 'argocd',
      target: 'Application/argocd/carts',
      instance: 'default',
    });
    expect((finished.data.gitops as { images: string[] }).images).to.deep.equal([
      'docker.io/keptn/carts:0.13.1',
    ]);
  });

  it('fails an Argo CD delivery whose application turns Degraded', async () => {
    const finished = await deliver({ project: 'shop', stage: 'prod', service: 'sick' });
    expect(finished.data).to.include({ status: 'succeeded', result: 'fail' });
    expect(finished.data.message).to.contain('health Degraded');
  });

  it('answers a trigger published twice once', async () => {
    const trigger = sandbox.taskTrigger({ project: 'shop', stage: 'prod', service: 'carts' });
    await sandbox.publish(trigger);
    await sandbox.publish(trigger);
    await sandbox.finished(trigger, 30_000);
    await eventually(async () =>
      expect(
        (await sandbox.deliveryRecords()).filter((r) => r.phase !== 'finished'),
        'no record left but tombstones',
      ).to.deep.equal([]),
    );
    expect(sandbox.answers(trigger).started).to.have.length(1);
    expect(sandbox.answers(trigger).finished).to.have.length(1);
  });

  it('delivers a recorded trigger whose replica died before patching, with only a .finished', async () => {
    const trigger = sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'podinfo' });
    const reconciles = sandbox.flux.reconciles.get('Kustomization/flux-system/podinfo') ?? 0;
    await sandbox.saveDeliveryRecord(trigger, 'replica-that-died');
    const finished = await sandbox.finished(trigger, 30_000);
    expect(finished.data).to.include({ status: 'succeeded', result: 'pass' });
    await eventually(async () =>
      expect(
        (await sandbox.deliveryRecords()).filter((r) => r.phase !== 'finished'),
        'no record left but tombstones',
      ).to.deep.equal([]),
    );
    expect(sandbox.answers(trigger).started).to.have.length(0);
    expect(sandbox.answers(trigger).finished).to.have.length(1);
    expect(sandbox.flux.reconciles.get('Kustomization/flux-system/podinfo')).to.equal(reconciles + 1);
  });

  it('answers errored, and keeps only a tombstone of the record, when a recorded trigger maps to no target any more', async () => {
    const trigger = sandbox.taskTrigger({ project: 'gone', stage: 'dev', service: 'podinfo' });
    await sandbox.saveDeliveryRecord(trigger, 'replica-that-died');
    const finished = await sandbox.finished(trigger, 30_000);
    expect(finished.data).to.include({ status: 'errored', result: 'fail' });
    expect(finished.data.message).to.contain('cannot resume Kustomization/flux-system/podinfo');
    await eventually(async () =>
      expect(
        (await sandbox.deliveryRecords()).filter((r) => r.phase !== 'finished'),
        'no record left but tombstones',
      ).to.deep.equal([]),
    );
  });
});
