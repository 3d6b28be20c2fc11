import { expect } from 'chai';
import { Writable } from 'node:stream';
import { silentLogger } from '../../lib/index.js';
import { runCheck } from '../../service/cli/check.js';
import { readEnv } from '../../service/config/env.js';
import type { ResolvedFluxTarget } from '../../service/config/gitops-config.js';
import { FluxDeployer } from '../../service/deployers/flux/index.js';
import {
  FluxControllerSimulator,
  seedGitRepository,
  seedHelmChart,
  seedHelmRelease,
  seedKustomization,
} from '../../service/sandbox/flux/index.js';
import { writeSandboxKubeconfig } from '../../service/sandbox/kube/kubeconfig.js';
import { ConfigMapDeliveryStore } from '../../service/state/configmap-delivery-store.js';
import { LeaderElection } from '../../service/leases/leader-election.js';
import { ReplicaLease } from '../../service/leases/replica-lease.js';
import { ConfigMapSeenRevisions } from '../../service/state/configmap-seen-revisions.js';
import { KubeFluxSourceLookup } from '../../service/webhooks/flux-sources.js';
import { startKubeSandbox, type KubeSandbox } from '../support/kube.js';
import { chartRbacRules } from './chart-rbac.js';

function fluxTarget(
  kind: 'Kustomization' | 'HelmRelease',
  name: string,
  extra: Partial<ResolvedFluxTarget['flux']> = {},
): ResolvedFluxTarget {
  return {
    tool: 'flux',
    rule: 0,
    timeoutMs: 20_000,
    deploymentName: 'direct',
    flux: { kind, name, namespace: 'flux-system', withSource: true, force: false, ...extra },
  };
}

function delivery(triggeredid: string) {
  return {
    project: 'p',
    stage: 's',
    service: 'v',
    type: 'sh.keptn.event.deliver.triggered',
    shkeptncontext: 'c',
    triggeredid,
    labels: {},
    startedAt: new Date().toISOString(),
    deadline: Date.now() + 20_000,
    phase: 'started' as const,
  };
}

/** `verb group/resource`, the way the simulator logs requests; API groups of the same family share verbs. */
const family = (group: string, resource: string) =>
  group === 'source.toolkit.fluxcd.io' ? `${group}/*` : `${group}/${resource}`;

/**
 * Every Kubernetes-using part of the service, run against the simulated API: what it requests is
 * what the chart must grant, and the chart must grant nothing it does not request.
 */
describe('chart RBAC against the code', function () {
  this.timeout(30_000);
  let kube: KubeSandbox;
  let used: Set<string>;

  before(async () => {
    kube = await startKubeSandbox();
    const flux = new FluxControllerSimulator(kube.sim, { delayMs: 10 });
    seedGitRepository(kube.sim, { name: 'repo', namespace: 'flux-system' });
    seedKustomization(kube.sim, {
      name: 'app',
      namespace: 'flux-system',
      wait: true,
      sourceRef: { kind: 'GitRepository', name: 'repo' },
    });
    seedHelmRelease(kube.sim, {
      name: 'chart',
      namespace: 'flux-system',
      chart: 'podinfo',
      version: '6.0.3',
    });
    seedHelmChart(kube.sim, {
      name: 'flux-system-chart',
      namespace: 'flux-system',
      chart: 'podinfo',
      version: '6.0.3',
    });
    kube.sim.clearRequestLog();
    const common = {
      kube: kube.api,
      namespace: 'keptn',
      integrationName: 'gitops-service',
      logger: silentLogger,
    };

    // Push direction: Flux deliveries with their sources, marker clearing, nudges.
    const deployer = new FluxDeployer({ kube: kube.api, logger: silentLogger });
    const ks = fluxTarget('Kustomization', 'app');
    const hr = fluxTarget('HelmRelease', 'chart', { force: true });
    await deployer.deploy({ target: ks, delivery: delivery('t1'), signal: new AbortController().signal });
    await deployer.deploy({ target: hr, delivery: delivery('t2'), signal: new AbortController().signal });
    await deployer.clearMarker(ks);
    await deployer.nudge('Kustomization/flux-system/app');
    await deployer.close();
    flux.stop();

    // Durable state: delivery journal, replica and poller Leases.
    const store = new ConfigMapDeliveryStore({ ...common, owner: 'a' });
    await store.create({ ...delivery('t3'), target: 'Kustomization/flux-system/app', tool: 'flux' });
    await store.finish(delivery('t3'));
    await store.list();
    await store.claim('t3', 'b', 'a');
    await store.remove('t3');
    const lease = new ReplicaLease({ ...common, podName: 'a', renewMs: 100, leaseDurationSeconds: 1 });
    await lease.start();
    await lease.liveReplicas();
    await lease.stop();
    const election = new LeaderElection({
      ...common,
      identity: 'a',
      renewMs: 100,
      retryMs: 100,
      leaseDurationSeconds: 1,
    });
    await election.start();
    await election.stop();

    // Pull direction: seen revisions and source lookups.
    const seen = new ConfigMapSeenRevisions(common);
    await seen.markIfNew('k', 'r1');
    await seen.markIfNew('k', 'r2');
    await new KubeFluxSourceLookup({ kube: kube.api }).usesSource(
      { kind: 'Kustomization', name: 'app', namespace: 'flux-system' },
      { kind: 'GitRepository', name: 'repo', namespace: 'flux-system' },
    );

    // `keptn-gitops check`: self-subject access reviews (discovery is not RBAC-controlled).
    const kubeconfig = writeSandboxKubeconfig({ server: kube.sim.url });
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(`${tmpdir()}/rbac-check-`);
    writeFileSync(
      `${dir}/config.yaml`,
      'targets:\n  - flux: {kind: Kustomization, name: app, namespace: flux-system}\n',
    );
    await runCheck(
      readEnv({
        KUBECONFIG: kubeconfig,
        GITOPS_CONFIG: `${dir}/config.yaml`,
        EVENTBROKER: 'nats://127.0.0.1:1',
        SHIPYARD_CONTROLLER: 'http://127.0.0.1:1',
      }),
      new Writable({ write: (_c, _e, cb) => cb() }),
    );

    used = new Set(
      kube.sim.requests.filter((r) => r.resource).map((r) => `${r.verb} ${family(r.group, r.resource)}`),
    );
  });

  after(async () => {
    await kube.sim.stop();
  });

  const granted = () =>
    new Set(
      chartRbacRules().flatMap((rule) =>
        rule.verbs.map((verb) => `${verb} ${family(rule.apiGroup, rule.resource)}`),
      ),
    );

  it('grants every verb and resource the service uses', () => {
    const missing = [...used].filter((u) => !granted().has(u));
    expect(missing, 'used by the code but not granted by chart/templates/_rbac-rules.tpl').to.deep.equal([]);
  });

  it('grants nothing the service does not use', () => {
    const unused = [...granted()].filter((g) => !used.has(g));
    expect(unused, 'granted by the chart but never requested by the code').to.deep.equal([]);
  });
});
