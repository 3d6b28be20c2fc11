import { REQUESTED_AT } from '../service/sandbox/flux/index.js';
import type { StoreEvent } from '../service/sandbox/kube/object-store.js';
import type { BenchBus, Delivery } from './bus.js';
import { getJson, Poller, POLL_INTERVAL_MS, POLLER_MARK } from './polling-baseline.js';
import { splitKubeRequests } from './requests.js';
import { ARGO_STAGE, ARGOCD_TOKEN, type BenchSandbox } from './sandbox.js';
import { msBetween, round, sleep, summarize, waitUntil, type LatencySummary } from './stats.js';

const FLUX_STAGE = 'bench-ready';

export interface ReadyOptions {
  samplesPerTool: number;
  /** Time between the starts of two samples (they overlap). */
  staggerMs: number;
}

export interface ToolReadyResult {
  samples: number;
  errors: string[];
  readyToFinished: LatencySummary;
  polling: LatencySummary;
  ratioP50: number;
  ratioP99: number;
  /** API requests the service made to the tool per delivery at this light load (poller requests excluded). */
  requestsPerDelivery: number;
}

export interface ReadyResult {
  pollIntervalMs: number;
  flux: ToolReadyResult;
  argocd: ToolReadyResult;
  /** Requests on the service's state (ConfigMaps, Leases) per delivery of either tool. */
  stateRequestsPerDelivery: number;
}

interface Sample {
  delivery?: Delivery;
  readyAt?: bigint;
  poller?: Poller;
  error?: string;
}

/** A small deterministic PRNG (mulberry32), so hold times are the same from run to run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * ready → finished: the object is held in its reconcile (Flux: `hold`, Argo CD: a rollout that
 * never ends by itself) for a random 0.3–2.3 s, then made Ready/Healthy by the simulator; the bench
 * times until the `.finished` is on the bus. Beside each sample, a poller GETs the same object
 * every 2 s from the start of the reconcile, like `flux reconcile`, and times when it sees it.
 */
export async function measureReady(
  bus: BenchBus,
  sandbox: BenchSandbox,
  options: ReadyOptions,
): Promise<ReadyResult> {
  const n = options.samplesPerTool;
  const fluxNames = Array.from({ length: n }, (_, i) => `ready-${i}`);
  const argoNames = Array.from({ length: n }, (_, i) => `ready-argo-${i}`);
  sandbox.seedKustomizations(FLUX_STAGE, fluxNames);
  for (const name of fluxNames)
    sandbox.flux.script('Kustomization', FLUX_STAGE, name, { type: 'success', hold: true });
  for (const name of argoNames)
    sandbox.argocd.addApplication({
      name,
      namespace: 'argocd',
      images: [`registry.example.com/${name}:1.0.0`],
      script: { outcome: 'success', stepMs: 10, healthyAfterMs: 600_000 },
    });

  const reconciling = new ReconcileStarts(sandbox, FLUX_STAGE);
  const logStart = sandbox.kube.requests.length;
  const argoBefore = sandbox.argocd.totalRequests;
  const hold = random(20_240_601);
  const fluxSamples: Sample[] = [];
  const argoSamples: Sample[] = [];
  const runs: Promise<void>[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const f: Sample = {};
      fluxSamples.push(f);
      runs.push(
        fluxSample(bus, sandbox, reconciling, fluxNames[i]!, 300 + hold() * 2000, f).catch(
          (err: Error) => void (f.error = err.message),
        ),
      );
      await sleep(options.staggerMs / 2);
      const a: Sample = {};
      argoSamples.push(a);
      runs.push(
        argoSample(bus, sandbox, argoNames[i]!, 300 + hold() * 2000, a).catch(
          (err: Error) => void (a.error = err.message),
        ),
      );
      await sleep(options.staggerMs / 2);
    }
    await Promise.all(runs);
    await sleep(500); // the Flux marker is cleared after the .finished
  } finally {
    reconciling.close();
  }
  const kube = splitKubeRequests(
    sandbox.kube.requests.slice(logStart).filter((r) => !r.url.includes(POLLER_MARK)),
  );
  const argoPolls = argoSamples.reduce((s, x) => s + (x.poller?.requests ?? 0), 0);
  return {
    pollIntervalMs: POLL_INTERVAL_MS,
    flux: summarizeTool(fluxSamples, kube.flux / n),
    argocd: summarizeTool(argoSamples, (sandbox.argocd.totalRequests - argoBefore - argoPolls) / n),
    stateRequestsPerDelivery: round(kube.state / (2 * n), 2),
  };
}

async function fluxSample(
  bus: BenchBus,
  sandbox: BenchSandbox,
  reconciling: ReconcileStarts,
  name: string,
  holdMs: number,
  sample: Sample,
): Promise<void> {
  const started = reconciling.next(name, 15_000);
  sample.delivery = bus.trigger(FLUX_STAGE, name);
  const token = await started;
  const url = sandbox.kube.url + sandbox.kustomizationPath(FLUX_STAGE, name) + '?' + POLLER_MARK;
  sample.poller = new Poller(
    () => getJson(url),
    (body) => {
      const obj = body as {
        status?: { lastHandledReconcileAt?: string; conditions?: { type: string; status: string }[] };
      };
      return (
        obj.status?.lastHandledReconcileAt === token &&
        obj.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true
      );
    },
  );
  await sleep(holdMs);
  sample.readyAt = process.hrtime.bigint();
  sandbox.flux.markReady(name);
  await settle(bus, sample);
}

async function argoSample(
  bus: BenchBus,
  sandbox: BenchSandbox,
  name: string,
  holdMs: number,
  sample: Sample,
): Promise<void> {
  sample.delivery = bus.trigger(ARGO_STAGE, name);
  await waitUntil(
    `the sync of ${name}`,
    () => (sandbox.argocd.syncCount(name) > 0 ? true : undefined),
    15_000,
    5,
  );
  const url = `${sandbox.argocd.url}/api/v1/applications/${name}`;
  sample.poller = new Poller(
    () => getJson(url, { authorization: `Bearer ${ARGOCD_TOKEN}` }),
    (body) => {
      const status = (
        body as { status?: { health?: { status?: string }; operationState?: { phase?: string } } }
      ).status;
      return status?.health?.status === 'Healthy' && status.operationState?.phase === 'Succeeded';
    },
  );
  await sleep(holdMs);
  const app = sandbox.argocd.application(name).app;
  if (app.status.health?.status !== 'Progressing' || app.status.operationState?.phase !== 'Succeeded') {
    throw new Error(
      `${name} was not a synced, progressing rollout after ${Math.round(holdMs)} ms (health ${app.status.health?.status}, phase ${app.status.operationState?.phase})`,
    );
  }
  sample.readyAt = process.hrtime.bigint();
  sandbox.argocd.markHealthy(name);
  await settle(bus, sample);
}

async function settle(bus: BenchBus, sample: Sample): Promise<void> {
  try {
    await bus.finished(sample.delivery!, 15_000);
    await sample.poller!.done;
  } finally {
    sample.poller!.stop();
  }
  if (sample.delivery!.result !== 'pass')
    throw new Error(`${sample.delivery!.service}: ${sample.delivery!.result}: ${sample.delivery!.message}`);
}

function summarizeTool(samples: Sample[], requestsPerDelivery: number): ToolReadyResult {
  const ok = samples.filter(
    (s) =>
      !s.error &&
      s.readyAt !== undefined &&
      s.delivery?.finishedAt !== undefined &&
      s.poller?.seenAt !== undefined,
  );
  const finished = summarize(ok.map((s) => msBetween(s.readyAt!, s.delivery!.finishedAt!)));
  const polling = summarize(ok.map((s) => msBetween(s.readyAt!, s.poller!.seenAt!)));
  return {
    samples: ok.length,
    errors: samples.filter((s) => s.error).map((s) => s.error!),
    readyToFinished: finished,
    polling,
    ratioP50: round(finished.p50 / polling.p50, 4),
    ratioP99: round(finished.p99 / polling.p99, 4),
    requestsPerDelivery: round(requestsPerDelivery, 2),
  };
}

/**
 * Tells when the simulated kustomize-controller has begun reconciling an object (it wrote
 * Ready=Unknown for a new requestedAt): from then on `markReady` ends its hold.
 */
class ReconcileStarts {
  private readonly waiting = new Map<string, (token: string) => void>();
  private readonly unsubscribe: () => void;

  constructor(sandbox: BenchSandbox, namespace: string) {
    this.unsubscribe = sandbox.kube.store.subscribe((event: StoreEvent) => {
      const obj = event.object;
      if (event.resourceType.kind !== 'Kustomization' || obj.metadata.namespace !== namespace) return;
      const wake = this.waiting.get(obj.metadata.name);
      const token = obj.metadata.annotations?.[REQUESTED_AT];
      const ready = (
        (obj.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []
      ).find((c) => c.type === 'Ready');
      if (!wake || !token || ready?.status !== 'Unknown') return;
      this.waiting.delete(obj.metadata.name);
      // The controller registers its hold right after this write returns.
      setImmediate(() => wake(token));
    });
  }

  next(name: string, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(name);
        reject(new Error(`the reconcile of ${name} did not start within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(name, (token) => {
        clearTimeout(timer);
        resolve(token);
      });
    });
  }

  close(): void {
    this.unsubscribe();
  }
}
