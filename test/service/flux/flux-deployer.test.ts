import { setMaxListeners } from 'node:events';
import { expect } from 'chai';
import { Registry } from 'prom-client';
import { silentLogger } from '../../../lib/log.js';
import type { ResolvedFluxTarget } from '../../../service/config/gitops-config.js';
import type { DeployRequest } from '../../../service/deployers/deployer.js';
import type { DeliveryRecord } from '../../../service/state/delivery-record.js';
import { DeployError } from '../../../service/deployers/deployer.js';
import { FluxDeployer } from '../../../service/deployers/flux/flux-deployer.js';
import { ANNOTATIONS } from '../../../service/deployers/flux/flux-resources.js';
import { parseMarker } from '../../../service/deployers/flux/delivery-marker.js';
import { createServiceMetrics } from '../../../service/metrics.js';
import {
  FluxControllerSimulator,
  seedGitRepository,
  seedHelmChart,
  seedHelmRelease,
  seedKustomization,
} from '../../../service/sandbox/flux/index.js';
import { eventually } from '../../support/eventually.js';
import { sandboxKubeApi, startKubeSandbox, type KubeSandbox } from '../../support/kube.js';
import { freePort } from '../../support/ports.js';

const REV = 'main@sha1:1111111111111111111111111111111111111111';
const OTHER = 'main@sha1:2222222222222222222222222222222222222222';
const OLD = 'main@sha1:0000000000000000000000000000000000000000';

function target(
  kind: 'Kustomization' | 'HelmRelease',
  name: string,
  namespace: string,
  extra: Partial<ResolvedFluxTarget['flux']> = {},
): ResolvedFluxTarget {
  return {
    tool: 'flux',
    rule: 0,
    timeoutMs: 5000,
    deploymentName: 'direct',
    flux: { kind, name, namespace, withSource: false, force: false, ...extra },
  };
}

function delivery(extra: Partial<DeliveryRecord> = {}, timeoutMs = 4000): DeliveryRecord {
  return {
    project: 'sockshop',
    stage: 'dev',
    service: 'carts',
    type: 'sh.keptn.event.deliver.triggered',
    shkeptncontext: 'ctx-1',
    triggeredid: 'tid-1',
    labels: {},
    startedAt: new Date().toISOString(),
    deadline: Date.now() + timeoutMs,
    phase: 'started',
    ...extra,
  };
}

describe('FluxDeployer', () => {
  let sandbox: KubeSandbox;
  let flux: FluxControllerSimulator;
  let deployer: FluxDeployer;
  let registry: Registry;
  const abort = new AbortController();
  // One shutdown signal serves every delivery, as in the service.
  setMaxListeners(0, abort.signal);

  function request(t: ResolvedFluxTarget, d: DeliveryRecord = delivery()): DeployRequest<ResolvedFluxTarget> {
    return { target: t, delivery: d, signal: abort.signal };
  }

  beforeEach(async () => {
    sandbox = await startKubeSandbox();
    flux = new FluxControllerSimulator(sandbox.sim, { delayMs: 20 });
    registry = new Registry();
    deployer = new FluxDeployer({
      kube: sandbox.api,
      logger: silentLogger,
      metrics: createServiceMetrics(registry),
      retry: { initialMs: 5, maxMs: 40 },
      requestTimeoutMs: 3000,
    });
    seedGitRepository(sandbox.sim, { name: 'podinfo', revision: REV });
    seedKustomization(sandbox.sim, {
      name: 'podinfo',
      sourceRef: { kind: 'GitRepository', name: 'podinfo' },
    });
  });
  afterEach(async () => {
    await deployer.close();
    flux.stop();
    await sandbox.sim.stop();
  });

  it('passes when the Kustomization applies and says it is not health-checked', async () => {
    const result = await deployer.deploy(request(target('Kustomization', 'podinfo', 'flux-system')));
    expect(result).to.include({
      result: 'pass',
      tool: 'flux',
      target: 'Kustomization/flux-system/podinfo',
      revision: REV,
    });
    expect(result.message).to.contain('not health-checked');
    expect(result.images).to.deep.equal([]);
  });

  it('passes with the requested revision (by short SHA)', async () => {
    const result = await deployer.deploy(
      request(target('Kustomization', 'podinfo', 'flux-system'), delivery({ requestedRevision: '1111111' })),
    );
    expect(result.result).to.equal('pass');
  });

  it('sends fail with both revisions when another revision was applied', async () => {
    flux.script('Kustomization', 'flux-system', 'podinfo', { type: 'wrong-revision', revision: OTHER });
    const result = await deployer.deploy(
      request(target('Kustomization', 'podinfo', 'flux-system'), delivery({ requestedRevision: REV })),
    );
    expect(result.result).to.equal('fail');
    expect(result.message).to.contain(OTHER).and.contain(REV);
  });

  it('sends fail when the Kustomization is stalled', async () => {
    flux.script('Kustomization', 'flux-system', 'podinfo', {
      type: 'stalled',
      message: 'kustomization path not found',
    });
    const result = await deployer.deploy(request(target('Kustomization', 'podinfo', 'flux-system')));
    expect(result.result).to.equal('fail');
    expect(result.message).to.contain('kustomization path not found');
  });

  it('sends fail at once on a failed attempt with ProgressingWithRetry, with the Ready message', async () => {
    flux.script('Kustomization', 'flux-system', 'podinfo', {
      type: 'retry',
      message: 'health check failed after 30s',
    });
    const started = Date.now();
    const result = await deployer.deploy(
      request(target('Kustomization', 'podinfo', 'flux-system'), delivery({}, 10_000)),
    );
    expect(result.result).to.equal('fail');
    expect(result.message).to.contain('health check failed after 30s');
    expect(Date.now() - started).to.be.lessThan(2000);
  });

  it('passes when a newer reconcile overtook ours and applied the requested revision', async () => {
    flux.script('Kustomization', 'flux-system', 'podinfo', { type: 'overtaken', revision: REV });
    const result = await deployer.deploy(
      request(target('Kustomization', 'podinfo', 'flux-system'), delivery({ requestedRevision: REV })),
    );
    expect(result.result).to.equal('pass');
  });

  it('keeps following through Ready=Unknown from a later reconcile', async () => {
    flux.script('Kustomization', 'flux-system', 'podinfo', { type: 'later-running', delayMs: 50 });
    const result = await deployer.deploy(request(target('Kustomization', 'podinfo', 'flux-system')));
    expect(result.result).to.equal('pass');
  });

  it('keeps waiting while Reconciling=True with the previous Ready=True, then passes with the new revision', async () => {
    seedKustomization(sandbox.sim, {
      name: 'stale',
      sourceRef: { kind: 'GitRepository', name: 'podinfo' },
      appliedRevision: OLD,
    });
    flux.script('Kustomization', 'flux-system', 'stale', { type: 'stale-ready', delayMs: 150 });
    const pending = deployer.deploy(request(target('Kustomization', 'stale', 'flux-system')));
    await eventually(() => {
      const obj = sandbox.sim.get('Kustomization', 'flux-system', 'stale')!;
      const status = obj.status as {
        lastHandledReconcileAt?: string;
        lastAppliedRevision?: string;
        conditions: { type: string; status: string }[];
      };
      expect(status.lastHandledReconcileAt).to.equal(obj.metadata.annotations?.[ANNOTATIONS.requestedAt]);
      expect(status.lastAppliedRevision).to.equal(OLD);
      expect(status.conditions.map((c) => `${c.type}=${c.status}`)).to.have.members([
        'Ready=True',
        'Reconciling=True',
      ]);
    });
    expect(await pending).to.include({ result: 'pass', revision: REV });
  });

  it('keeps waiting while the status describes an older generation, then passes with the new revision', async () => {
    seedKustomization(sandbox.sim, {
      name: 'changed',
      sourceRef: { kind: 'GitRepository', name: 'podinfo' },
      appliedRevision: OLD,
    });
    flux.script('Kustomization', 'flux-system', 'changed', { type: 'older-generation', delayMs: 150 });
    const pending = deployer.deploy(
      request(target('Kustomization', 'changed', 'flux-system'), delivery({ requestedRevision: REV })),
    );
    await eventually(() => {
      const obj = sandbox.sim.get('Kustomization', 'flux-system', 'changed')!;
      const status = obj.status as { lastHandledReconcileAt?: string; observedGeneration?: number };
      expect(status.lastHandledReconcileAt).to.equal(obj.metadata.annotations?.[ANNOTATIONS.requestedAt]);
      expect(status.observedGeneration).to.be.a('number').and.lessThan(obj.metadata.generation!);
    });
    expect(await pending).to.include({ result: 'pass', revision: REV });
  });

  it('sends fail naming the dependency when it is not ready', async () => {
    flux.script('Kustomization', 'flux-system', 'podinfo', {
      type: 'dependency-not-ready',
      dependency: 'flux-system/infrastructure',
    });
    const result = await deployer.deploy(
      request(target('Kustomization', 'podinfo', 'flux-system'), delivery({}, 10_000)),
    );
    expect(result.result).to.equal('fail');
    expect(result.message).to.equal(
      "Kustomization/flux-system/podinfo reconciliation failed (DependencyNotReady): dependency 'flux-system/infrastructure' is not ready",
    );
  });

  it('throws suspended at once when the object is suspended while the delivery follows it', async () => {
    flux.script('Kustomization', 'flux-system', 'podinfo', { type: 'success', hold: true });
    const pending = deployer
      .deploy(request(target('Kustomization', 'podinfo', 'flux-system'), delivery({}, 20_000)))
      .catch((e: unknown) => e);
    await eventually(() =>
      expect(
        sandbox.sim.get('Kustomization', 'flux-system', 'podinfo')!.metadata.annotations?.[
          ANNOTATIONS.delivery
        ],
      ).to.be.a('string'),
    );
    const suspendedAt = Date.now();
    flux.suspend('Kustomization', 'flux-system', 'podinfo');
    const err = (await pending) as DeployError;
    expect(err).to.be.instanceOf(DeployError);
    expect(err.kind).to.equal('suspended');
    expect(err.message).to.contain('flux resume kustomization podinfo -n flux-system');
    expect(Date.now() - suspendedAt, 'long before the deadline').to.be.lessThan(5000);
  });

  it('throws not-found at once when the object is deleted while the delivery follows it', async () => {
    flux.script('Kustomization', 'flux-system', 'podinfo', { type: 'success', hold: true });
    const pending = deployer
      .deploy(request(target('Kustomization', 'podinfo', 'flux-system'), delivery({}, 20_000)))
      .catch((e: unknown) => e);
    await eventually(() =>
      expect(
        sandbox.sim.get('Kustomization', 'flux-system', 'podinfo')!.metadata.annotations?.[
          ANNOTATIONS.delivery
        ],
      ).to.be.a('string'),
    );
    const deletedAt = Date.now();
    sandbox.sim.store.delete(sandbox.sim.type('Kustomization'), 'flux-system', 'podinfo');
    const err = (await pending) as DeployError;
    expect(err).to.be.instanceOf(DeployError);
    expect(err.kind).to.equal('not-found');
    expect(err.message).to.equal(
      'Kustomization/flux-system/podinfo was deleted while the delivery followed it',
    );
    expect(Date.now() - deletedAt, 'long before the deadline').to.be.lessThan(5000);
  });

  it('throws not-found naming the object', async () => {
    const err = await deployer
      .deploy(request(target('Kustomization', 'missing', 'flux-system')))
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(DeployError);
    expect((err as DeployError).kind).to.equal('not-found');
    expect((err as DeployError).message).to.contain('Kustomization flux-system/missing not found');
  });

  it('throws suspended with the flux resume command', async () => {
    flux.suspend('Kustomization', 'flux-system', 'podinfo');
    const err = (await deployer
      .deploy(request(target('Kustomization', 'podinfo', 'flux-system')))
      .catch((e: unknown) => e)) as DeployError;
    expect(err.kind).to.equal('suspended');
    expect(err.message).to.equal(
      'Kustomization flux-system/podinfo is suspended (spec.suspend: true); resume it with flux resume kustomization podinfo -n flux-system',
    );
  });

  it('throws forbidden naming the verb and resource', async () => {
    sandbox.sim.setRbac([
      { group: 'kustomize.toolkit.fluxcd.io', resource: 'kustomizations', verbs: ['get', 'list', 'watch'] },
    ]);
    const err = (await deployer
      .deploy(request(target('Kustomization', 'podinfo', 'flux-system')))
      .catch((e: unknown) => e)) as DeployError;
    expect(err.kind).to.equal('forbidden');
    expect(err.message).to.contain(
      'patch kustomizations.kustomize.toolkit.fluxcd.io in namespace flux-system',
    );
  });

  it('retries while the API is unreachable and finishes once it recovers', async () => {
    sandbox.sim.failNext({ status: 503, count: 3 });
    sandbox.sim.failNext({ status: 'reset' });
    const result = await deployer.deploy(request(target('Kustomization', 'podinfo', 'flux-system')));
    expect(result.result).to.equal('pass');
    const retries = (await registry.getSingleMetric('gitops_api_retries_total')!.get()).values.reduce(
      (s, v) => s + v.value,
      0,
    );
    expect(retries).to.be.at.least(4);
  });

  it('throws unreachable when no API server answers until the deadline', async () => {
    const dead = new FluxDeployer({
      kube: sandboxKubeApi(`http://127.0.0.1:${await freePort()}`),
      logger: silentLogger,
      retry: { initialMs: 5, maxMs: 20 },
    });
    const err = (await dead
      .deploy(request(target('Kustomization', 'podinfo', 'flux-system'), delivery({}, 300)))
      .catch((e: unknown) => e)) as DeployError;
    await dead.close();
    expect(err.kind).to.equal('unreachable');
    expect(err.message).to.contain('Kustomization flux-system/podinfo');
  });

  it('times out with the last Ready message', async () => {
    flux.script('Kustomization', 'flux-system', 'podinfo', { type: 'success', hold: true });
    const err = (await deployer
      .deploy(request(target('Kustomization', 'podinfo', 'flux-system'), delivery({}, 400)))
      .catch((e: unknown) => e)) as DeployError;
    expect(err.kind).to.equal('timeout');
    expect(err.message).to.contain('Reconciliation in progress');
  });

  it('reconciles the source first with withSource and applies its new revision', async () => {
    flux.setSourceRevision('GitRepository', 'flux-system', 'podinfo', OTHER);
    const result = await deployer.deploy(
      request(
        target('Kustomization', 'podinfo', 'flux-system', { withSource: true }),
        delivery({ requestedRevision: OTHER }),
      ),
    );
    expect(result).to.include({ result: 'pass', revision: OTHER });
    const repo = sandbox.sim.get('GitRepository', 'flux-system', 'podinfo')!;
    expect(repo.metadata.annotations?.[ANNOTATIONS.requestedAt]).to.be.a('string');
  });

  it('sets forceAt to the requestedAt token on a HelmRelease with force', async () => {
    seedHelmRelease(sandbox.sim, { name: 'podinfo', namespace: 'default', version: '6.3.5' });
    seedHelmChart(sandbox.sim, { name: 'default-podinfo', chart: 'podinfo', version: '6.3.5' });
    const result = await deployer.deploy(
      request(
        target('HelmRelease', 'podinfo', 'default', { force: true }),
        delivery({ requestedRevision: '6.3.5' }),
      ),
    );
    expect(result).to.include({ result: 'pass', revision: '6.3.5', target: 'HelmRelease/default/podinfo' });
    const hr = sandbox.sim.get('HelmRelease', 'default', 'podinfo')!;
    expect(hr.metadata.annotations?.[ANNOTATIONS.forceAt]).to.equal(
      hr.metadata.annotations?.[ANNOTATIONS.requestedAt],
    );
  });

  it('writes the delivery marker with the token and clears it', async () => {
    await deployer.deploy(request(target('Kustomization', 'podinfo', 'flux-system')));
    const marker = () =>
      sandbox.sim.get('Kustomization', 'flux-system', 'podinfo')!.metadata.annotations?.[
        ANNOTATIONS.delivery
      ];
    const obj = sandbox.sim.get('Kustomization', 'flux-system', 'podinfo')!;
    expect(parseMarker(marker())).to.include({
      triggeredid: 'tid-1',
      token: obj.metadata.annotations?.[ANNOTATIONS.requestedAt],
    });
    await deployer.clearMarker(target('Kustomization', 'podinfo', 'flux-system'));
    expect(marker()).to.equal(undefined);
  });

  it('resumes a delivery from its token without patching again', async () => {
    flux.script('Kustomization', 'flux-system', 'podinfo', { type: 'success', delayMs: 150 });
    const first = deployer.deploy(request(target('Kustomization', 'podinfo', 'flux-system')));
    await eventually(
      () =>
        sandbox.sim.get('Kustomization', 'flux-system', 'podinfo')!.metadata.annotations?.[
          ANNOTATIONS.delivery
        ] !== undefined,
    );
    const record = JSON.parse(
      sandbox.sim.get('Kustomization', 'flux-system', 'podinfo')!.metadata.annotations![
        ANNOTATIONS.delivery
      ]!,
    ) as DeliveryRecord;
    const other = new FluxDeployer({ kube: sandbox.api, logger: silentLogger });
    const patchesBefore = sandbox.sim.requestCount({ verb: 'patch' });
    const resumed = await other.resume(request(target('Kustomization', 'podinfo', 'flux-system'), record));
    await other.close();
    expect(resumed.result).to.equal('pass');
    expect(sandbox.sim.requestCount({ verb: 'patch' })).to.equal(patchesBefore);
    expect((await first).result).to.equal('pass');
  });

  it('re-establishes the watch after the server closes it and after 410 Gone', async () => {
    flux.script('Kustomization', 'flux-system', 'podinfo', { type: 'success', hold: true });
    const pending = deployer.deploy(request(target('Kustomization', 'podinfo', 'flux-system')));
    await eventually(() => sandbox.sim.openWatches === 1);
    sandbox.sim.closeWatches();
    await eventually(
      () => sandbox.sim.openWatches === 1 && sandbox.sim.requestCount({ verb: 'watch' }) === 2,
    );
    // When the hub reconnects, history up to now is gone: its resourceVersion gets 410 and it relists.
    let armed = true;
    sandbox.sim.failNext({
      status: 500,
      match: (req) => {
        if (armed && req.verb === 'watch') {
          armed = false;
          seedKustomization(sandbox.sim, { name: 'unrelated' });
          sandbox.sim.store.compact();
        }
        return false;
      },
    });
    sandbox.sim.closeWatches();
    await eventually(() => sandbox.sim.requestCount({ verb: 'list' }) === 2 && sandbox.sim.openWatches === 1);
    sandbox.sim.clearFaults();
    flux.markReady('podinfo');
    expect((await pending).result).to.equal('pass');
  });

  it('runs one delivery per object at a time', async () => {
    const results = await Promise.all(
      [1, 2, 3].map(() => deployer.deploy(request(target('Kustomization', 'podinfo', 'flux-system')))),
    );
    expect(results.map((r) => r.result)).to.deep.equal(['pass', 'pass', 'pass']);
    expect(flux.reconciles.get('Kustomization/flux-system/podinfo')).to.equal(3);
  });

  it('follows 200 concurrent deliveries on one watch with a constant number of requests each', async function () {
    this.timeout(20_000);
    for (let i = 0; i < 200; i++)
      seedKustomization(sandbox.sim, {
        name: `app-${i}`,
        namespace: 'apps',
        sourceRef: { kind: 'GitRepository', name: 'podinfo', namespace: 'flux-system' },
      });
    flux.script('Kustomization', 'apps', 'app-0', { type: 'success', delayMs: 300 });
    sandbox.sim.clearRequestLog();
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        deployer.deploy(request(target('Kustomization', `app-${i}`, 'apps'), delivery({}, 15_000))),
      ),
    );
    expect(results.every((r) => r.result === 'pass')).to.equal(true);
    // One GET and one PATCH per delivery, plus one LIST and one WATCH shared by all of them.
    expect(sandbox.sim.requestCount({ verb: 'watch' })).to.equal(1);
    expect(sandbox.sim.requestCount({ verb: 'list' })).to.equal(1);
    expect(sandbox.sim.requestCount({ verb: 'get' })).to.equal(200);
    expect(sandbox.sim.requestCount({ verb: 'patch' })).to.equal(200);
    expect(sandbox.sim.requests.length).to.equal(402);
  });
});
