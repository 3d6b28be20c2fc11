import type { BenchBus, Delivery } from './bus.js';
import { splitKubeRequests } from './requests.js';
import { RECORD_WRITE_NAMESPACE, type BenchSandbox } from './sandbox.js';
import { msBetween, round, sleep, summarize, type LatencySummary } from './stats.js';

export interface StartedOptions {
  triggers: number;
  perSecond: number;
  /** Kustomizations the triggers go to, round robin. */
  objects: number;
  warmup: number;
}

export interface StartedResult {
  triggers: number;
  perSecond: number;
  warmupExcluded: number;
  started: LatencySummary;
  floor: LatencySummary;
  /**
   * A delivery record's create (one ConfigMap POST to the same API server from this process, record-sized),
   * interleaved with the triggers: the round trip every `.started` now waits for.
   */
  recordWrite: LatencySummary;
  ratioP50: number;
  ratioP99: number;
  missingStarted: number;
  missingFinished: number;
  failed: number;
  /**
   * Kubernetes API requests per delivery at this light load (the baseline for "constant"): on Flux objects,
   * and on the service's state (ConfigMaps, Leases).
   */
  fluxRequestsPerDelivery: number;
  stateRequestsPerDelivery: number;
}

const STAGE = 'bench-lat';

/**
 * triggered → started at a steady rate, against a bare request/reply on the same server, both from
 * this process and interleaved (a trigger on every tick, a request/reply half a tick later), so
 * both see the same machine noise.
 */
export async function measureStarted(
  bus: BenchBus,
  sandbox: BenchSandbox,
  options: StartedOptions,
): Promise<StartedResult> {
  const names = Array.from({ length: options.objects }, (_, i) => `lat-${String(i).padStart(2, '0')}`);
  sandbox.seedKustomizations(STAGE, names);
  const payload = bus.samplePayload();

  // Warm-up: the first deliveries open the watch and the connections and let V8 compile the paths.
  const warm: Delivery[] = [];
  for (let i = 0; i < options.warmup; i++) {
    warm.push(bus.trigger(STAGE, names[i % names.length]!));
    await bus.floorRoundTrip(payload);
    await sleep(1000 / options.perSecond);
  }
  await bus.allFinished(warm, 30_000);
  await sleep(500);
  const logStart = sandbox.kube.requests.length;

  const measured: Delivery[] = [];
  const floors: number[] = [];
  const recordWrites: number[] = [];
  const tick = 1000 / options.perSecond;
  const t0 = Date.now();
  for (let i = 0; i < options.triggers; i++) {
    await sleep(Math.max(0, t0 + i * tick - Date.now()));
    measured.push(bus.trigger(STAGE, names[i % names.length]!));
    await sleep(Math.max(0, t0 + (i + 0.5) * tick - Date.now()));
    floors.push(await bus.floorRoundTrip(payload));
    recordWrites.push(await sandbox.timeRecordWrite(`bench-record-${i}`));
  }
  const missingFinished = await bus.allFinished(measured, 60_000);
  await sleep(500); // the marker is cleared after the .finished
  const requests = splitKubeRequests(
    sandbox.kube.requests.slice(logStart).filter((r) => r.namespace !== RECORD_WRITE_NAMESPACE),
  );

  const started = measured
    .filter((d) => d.startedAt !== undefined)
    .map((d) => msBetween(d.publishedAt, d.startedAt!));
  const startedSummary = summarize(started);
  const floorSummary = summarize(floors);
  return {
    triggers: options.triggers,
    perSecond: options.perSecond,
    warmupExcluded: options.warmup,
    started: startedSummary,
    floor: floorSummary,
    recordWrite: summarize(recordWrites),
    ratioP50: round(startedSummary.p50 / floorSummary.p50, 2),
    ratioP99: round(startedSummary.p99 / floorSummary.p99, 2),
    missingStarted: measured.length - started.length,
    missingFinished,
    failed: measured.filter((d) => d.result !== undefined && d.result !== 'pass').length,
    fluxRequestsPerDelivery: round(requests.flux / options.triggers, 2),
    stateRequestsPerDelivery: round(requests.state / options.triggers, 2),
  };
}
