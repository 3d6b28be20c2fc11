import type { BenchBus, Delivery } from './bus.js';
import { cpuSecondsOf, memoryOf, RssSampler } from './proc.js';
import { splitKubeRequests } from './requests.js';
import { ARGO_STAGE, type BenchSandbox } from './sandbox.js';
import { msBetween, round, sleep, summarize, type LatencySummary } from './stats.js';

export interface ConcurrentOptions {
  flux: number;
  argocd: number;
  fluxNamespaces: number;
  timeoutMs: number;
}

export interface ConcurrentResult {
  deliveries: number;
  flux: number;
  argocd: number;
  fluxNamespaces: number;
  wallSeconds: number;
  passed: number;
  failed: number;
  unfinished: number;
  failures: string[];
  /** triggered → started while the burst was being taken in. */
  startedUnderBurst: LatencySummary;
  rssBeforeMB: number;
  rssPeakSampledMB: number;
  /** VmHWM after the phase: the service's peak resident set over its whole life. */
  rssHighWaterMB: number;
  cpuSeconds: number;
  kubeRequests: number;
  argocdRequests: number;
  /** Every API request (Kubernetes and Argo CD) divided by deliveries. */
  requestsPerDelivery: number;
  /** Kubernetes requests on Flux objects per Flux delivery. */
  fluxRequestsPerFluxDelivery: number;
  argocdRequestsPerArgoDelivery: number;
  /** Kubernetes requests on the service's state (ConfigMaps, Leases) per delivery. */
  stateRequestsPerDelivery: number;
  kubeRequestsByVerb: Record<string, number>;
  argocdRequestsByRoute: Record<string, number>;
}

/** Many deliveries at once: all triggers published in one burst, then every `.finished` awaited. */
export async function measureConcurrent(
  bus: BenchBus,
  sandbox: BenchSandbox,
  servicePid: number,
  options: ConcurrentOptions,
): Promise<ConcurrentResult> {
  const flux: { stage: string; name: string }[] = [];
  for (let i = 0; i < options.flux; i++)
    flux.push({ stage: `bench-load-${i % options.fluxNamespaces}`, name: `load-${i}` });
  for (let ns = 0; ns < options.fluxNamespaces; ns++) {
    sandbox.seedKustomizations(
      `bench-load-${ns}`,
      flux.filter((f) => f.stage === `bench-load-${ns}`).map((f) => f.name),
    );
  }
  const argo = Array.from({ length: options.argocd }, (_, i) => `load-argo-${i}`);
  for (const name of argo)
    sandbox.argocd.addApplication({
      name,
      namespace: 'argocd',
      images: [`registry.example.com/${name}:1.0.0`],
      externalURLs: [`http://${name}.example.com`],
    });
  await sleep(200);

  const kubeLogStart = sandbox.kube.requests.length;
  const argoBefore = new Map(sandbox.argocd.requests);
  const cpuBefore = cpuSecondsOf(servicePid);
  const rssBeforeMB = memoryOf(servicePid).rssMB;
  const sampler = new RssSampler(servicePid, 100);

  // Interleave the tools so both are in flight at once.
  const order: { stage: string; name: string }[] = [];
  for (let i = 0; i < Math.max(flux.length, argo.length); i++) {
    if (flux[i]) order.push(flux[i]!);
    if (argo[i]) order.push({ stage: ARGO_STAGE, name: argo[i]! });
  }
  const deliveries: Delivery[] = [];
  for (const [i, t] of order.entries()) {
    deliveries.push(bus.trigger(t.stage, t.name));
    if (i % 100 === 99) await bus.flush();
  }
  await bus.flush();
  const first = deliveries[0]!.publishedAt;
  const unfinished = await bus.allFinished(deliveries, options.timeoutMs);
  const last = deliveries.reduce(
    (max, d) => (d.finishedAt !== undefined && d.finishedAt > max ? d.finishedAt : max),
    first,
  );
  await sleep(1000); // Flux markers are cleared after each .finished; count those requests too
  const peakSampled = sampler.stop();
  const cpuSeconds = cpuSecondsOf(servicePid) - cpuBefore;
  const hwm = memoryOf(servicePid).hwmMB;

  const kubeLog = sandbox.kube.requests.slice(kubeLogStart);
  const kube = splitKubeRequests(kubeLog);
  const argoByRoute: Record<string, number> = {};
  for (const [route, count] of sandbox.argocd.requests) {
    const delta = count - (argoBefore.get(route) ?? 0);
    if (delta) argoByRoute[route] = delta;
  }
  const argoRequests = Object.values(argoByRoute).reduce((s, x) => s + x, 0);
  const finished = deliveries.filter((d) => d.finishedAt !== undefined);
  const total = deliveries.length;
  return {
    deliveries: total,
    flux: flux.length,
    argocd: argo.length,
    fluxNamespaces: options.fluxNamespaces,
    wallSeconds: round(msBetween(first, last) / 1000, 2),
    passed: finished.filter((d) => d.result === 'pass').length,
    failed: finished.filter((d) => d.result !== 'pass').length,
    unfinished,
    failures: finished
      .filter((d) => d.result !== 'pass')
      .slice(0, 5)
      .map((d) => `${d.service}: ${d.status}/${d.result}: ${d.message}`),
    startedUnderBurst: summarize(
      deliveries.filter((d) => d.startedAt !== undefined).map((d) => msBetween(d.publishedAt, d.startedAt!)),
    ),
    rssBeforeMB: round(rssBeforeMB, 1),
    rssPeakSampledMB: round(peakSampled, 1),
    rssHighWaterMB: round(hwm, 1),
    cpuSeconds: round(cpuSeconds, 2),
    kubeRequests: kubeLog.length,
    argocdRequests: argoRequests,
    requestsPerDelivery: round((kubeLog.length + argoRequests) / total, 2),
    fluxRequestsPerFluxDelivery: round(kube.flux / (flux.length || 1), 2),
    argocdRequestsPerArgoDelivery: round(argoRequests / (argo.length || 1), 2),
    stateRequestsPerDelivery: round(kube.state / total, 2),
    kubeRequestsByVerb: kube.byVerb,
    argocdRequestsByRoute: argoByRoute,
  };
}
