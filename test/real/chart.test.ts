import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { runCli, E2eSandbox } from '../support/e2e-harness.js';
import { eventually } from '../support/eventually.js';
import { CHART_DIR, RELEASE, RELEASE_NAMESPACE, clusterHelm, type InstalledChart } from './support/chart.js';
import type { RealCluster } from './support/cluster.js';
import { sharedChart, sharedCluster, sharedFlux } from './support/shared-cluster.js';

interface Role {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
}

describe('real chart: helm v4 lint, template and install onto the real API server', function () {
  this.timeout(300_000);
  let cluster: RealCluster;
  let chart: InstalledChart;

  before(async function () {
    this.timeout(600_000);
    cluster = await sharedCluster();
    await sharedFlux(); // the Flux CRDs: `check` asks whether they are served
    chart = await sharedChart();
  });

  it('passes helm lint --strict with the default values and with each CI values file', async () => {
    for (const values of [
      undefined,
      ...readdirSync(join(CHART_DIR, 'ci')).map((file) => join(CHART_DIR, 'ci', file)),
    ]) {
      const output = await clusterHelm(cluster, [
        'lint',
        '--strict',
        CHART_DIR,
        ...(values ? ['--values', values] : []),
      ]);
      expect(output, values ?? 'default values').to.include('0 chart(s) failed');
    }
  });

  it('renders manifests that the real API server accepts (server-side dry run) for each CI values file', async () => {
    for (const values of readdirSync(join(CHART_DIR, 'ci'))) {
      const rendered = await clusterHelm(cluster, [
        'template',
        'dry-run',
        CHART_DIR,
        '--namespace',
        RELEASE_NAMESPACE,
        '--values',
        join(CHART_DIR, 'ci', values),
      ]);
      const objects = parseAllDocuments(rendered)
        .map((doc) => doc.toJS() as { kind?: string; metadata?: { namespace?: string } } | null)
        .filter((obj) => obj?.kind !== undefined)
        // The prometheus-operator CRD is not installed here.
        .filter((obj) => obj!.kind !== 'ServiceMonitor');
      const namespaces = new Set(
        objects.map((obj) => obj!.metadata?.namespace).filter((ns) => ns !== undefined),
      );
      await cluster.apply(
        [...namespaces]
          .map((name) => JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }))
          .join('\n'),
      );
      const applied = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], {
        input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
      });
      const lines = applied.trim().split('\n');
      expect(lines, values).to.have.length(objects.length);
      for (const line of lines)
        expect(line, values).to.match(/ (created|configured|unchanged) \(server dry run\)$/);
      expect(applied, values).to.match(/^deployment\.apps\/\S+ created/m);
    }
  });

  it('installs: the Deployment becomes Available with every replica Running on a kwok node', async () => {
    const deployment = JSON.parse(
      await cluster.kubectl([
        'get',
        'deployment',
        '-n',
        RELEASE_NAMESPACE,
        '-l',
        `app.kubernetes.io/instance=${RELEASE}`,
        '-o',
        'json',
      ]),
    ) as {
      items: {
        spec: { replicas: number };
        status: { availableReplicas?: number; conditions?: { type: string; status: string }[] };
      }[];
    };
    expect(deployment.items).to.have.length(1);
    const [item] = deployment.items;
    expect(item!.status.conditions?.find((c) => c.type === 'Available')?.status).to.equal('True');
    expect(item!.status.availableReplicas).to.equal(item!.spec.replicas);
    const phases = await cluster.kubectl([
      'get',
      'pods',
      '-n',
      RELEASE_NAMESPACE,
      '-l',
      `app.kubernetes.io/instance=${RELEASE}`,
      '-o',
      'jsonpath={.items[*].status.phase}',
    ]);
    expect(phases.split(' '))
      .to.have.length(item!.spec.replicas)
      .and.to.satisfy((all: string[]) => all.every((phase) => phase === 'Running'));
  });

  describe('keptn-gitops check with the chart ServiceAccount token', () => {
    let sandbox: E2eSandbox;
    const fluxRole = () => `${RELEASE}-keptn-gitops-service-flux`;

    before(async () => {
      sandbox = await E2eSandbox.start({ kubeconfig: chart.kubeconfig });
    });

    after(async () => {
      await sandbox?.stop();
    });

    const check = () =>
      runCli(
        ['check'],
        sandbox.env({
          GITOPS_CONFIG: chart.targetsFile,
          KUBECONFIG: chart.kubeconfig,
          FLUX_WEBHOOK_HMAC_KEY: 'x',
        }),
        120_000,
      );
    const rbacLines = (stdout: string) =>
      stdout.split('\n').filter((line) => line.slice(5).startsWith('rbac '));

    it('finds every permission the targets need granted by the chart RBAC', async () => {
      const result = await check();
      const lines = rbacLines(result.stdout);
      expect(lines, result.stdout).to.have.length(2);
      for (const plural of [
        'kustomizations.kustomize.toolkit.fluxcd.io',
        'helmreleases.helm.toolkit.fluxcd.io',
      ]) {
        expect(
          lines.find((line) => line.includes(plural)),
          result.stdout,
        ).to.match(/^ok\b.*get, watch, patch/);
      }
    });

    it('names the permission when one rule of the chart Role is dropped (a 403 from the real authorizer)', async () => {
      const original = JSON.parse(
        await cluster.kubectl(['get', 'role', fluxRole(), '-n', 'flux-system', '-o', 'json']),
      ) as Role;
      const reduced: Role = {
        ...original,
        rules: original.rules.filter((rule) => !rule.resources.includes('helmreleases')),
      };
      expect(reduced.rules).to.have.length(original.rules.length - 1);
      await cluster.kubectl(['replace', '-f', '-'], { input: JSON.stringify(reduced) });
      try {
        const result = await eventually(
          async () => {
            const run = await check();
            expect(
              rbacLines(run.stdout).find((line) => line.includes('helmreleases')),
              run.stdout,
            ).to.match(/^FAIL\b/);
            return run;
          },
          60_000,
          500,
        );
        expect(result.code).not.to.equal(0);
        const helmLine = rbacLines(result.stdout).find((line) => line.includes('helmreleases'));
        expect(helmLine).to.include(
          'not allowed to get, watch, patch helmreleases.helm.toolkit.fluxcd.io in namespace flux-system',
        );
        expect(rbacLines(result.stdout).find((line) => line.includes('kustomizations'))).to.match(/^ok\b/);
      } finally {
        const { resourceVersion: _, ...metadata } = original.metadata;
        await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], {
          input: JSON.stringify({ ...original, metadata }),
        });
      }
    });
  });
});
