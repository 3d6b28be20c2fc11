import { E2E_FLUX_HMAC_KEY } from '../../support/e2e-harness.js';
import { installChart, RELEASE_NAMESPACE, type InstalledChart } from './chart.js';
import { RealCluster } from './cluster.js';
import { RealFlux } from './flux.js';
import { RUN_TARGETS, WEBHOOK_SECRET } from './run-targets.js';

let cluster: Promise<RealCluster> | undefined;
let flux: Promise<RealFlux> | undefined;
let chart: Promise<InstalledChart> | undefined;

/** The run's one real cluster, started by the first test that asks for it and stopped by the root hooks. */
export function sharedCluster(): Promise<RealCluster> {
  cluster ??= RealCluster.start();
  return cluster;
}

/** Flux on the shared cluster, started once per run. */
export function sharedFlux(): Promise<RealFlux> {
  flux ??= sharedCluster().then((c) => RealFlux.start(c));
  return flux;
}

/** The project's chart installed once per run on the shared cluster, configured with the run's targets. */
export function sharedChart(): Promise<InstalledChart> {
  chart ??= (async () => {
    const c = await sharedCluster();
    await c.apply(
      JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: RELEASE_NAMESPACE } }),
    );
    await c.apply(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: WEBHOOK_SECRET, namespace: RELEASE_NAMESPACE },
        stringData: { FLUX_WEBHOOK_HMAC_KEY: E2E_FLUX_HMAC_KEY },
      }),
    );
    return installChart(c, {
      targets: { config: RUN_TARGETS },
      webhooks: { existingSecret: WEBHOOK_SECRET },
      rbac: { namespaces: ['flux-system'] },
    });
  })();
  return chart;
}

/** The shared cluster if one was started (for the root hooks' cleanup). */
export async function startedCluster(): Promise<RealCluster | undefined> {
  return cluster?.catch(() => undefined);
}
