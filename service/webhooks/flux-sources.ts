import { silentLogger, type BackoffOptions, type Logger } from '../../lib/index.js';
import type { KubeApi } from '../kube/kube-api.js';
import { KubeClient } from '../kube/kube-client.js';
import { getOrUndefined } from '../kube/kube-request.js';
import { FLUX_RESOURCES, targetId } from '../gitops/identity.js';

export interface FluxObjectRef {
  kind: string;
  name: string;
  namespace: string;
}

/** Which Flux source a Kustomization or HelmRelease reads from. */
export interface FluxSourceLookup {
  usesSource(target: FluxObjectRef, source: FluxObjectRef): Promise<boolean>;
}

/** Failed to read a Kustomization/HelmRelease to learn its sources. */
class FluxSourceLookupError extends Error {
  constructor(
    message: string,
    readonly target: FluxObjectRef,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FluxSourceLookupError';
  }
}

interface SourceRef {
  kind?: string;
  name?: string;
  namespace?: string;
}

/**
 * The sources whose new artifacts a Kustomization or HelmRelease deploys: `spec.sourceRef`
 * (Kustomization), `spec.chartRef`, or for `spec.chart` the HelmChart the controller makes from it
 * (`<ns>-<name>` in the chart source's namespace, as `flux reconcile hr --with-source` names it).
 * Not the chart's own source: a GitRepository commit or a HelmRepository index update reaches the
 * release only as a new HelmChart artifact, whose revision (the chart version) is the one the
 * release reports, so a sequence started from the source would ask for a revision it never applies.
 * Namespaces default to the object's.
 */
export function referencedSources(object: {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: unknown;
}): FluxObjectRef[] {
  const namespace = object.metadata?.namespace ?? 'flux-system';
  const name = object.metadata?.name ?? '';
  const spec = (object.spec ?? {}) as {
    sourceRef?: SourceRef;
    chartRef?: SourceRef;
    chart?: { spec?: { sourceRef?: SourceRef } };
  };
  const ref = (r: SourceRef | undefined): FluxObjectRef[] =>
    r?.kind && r.name ? [{ kind: r.kind, name: r.name, namespace: r.namespace ?? namespace }] : [];
  const generatedChart = ref(spec.chart?.spec?.sourceRef).map((s) => ({
    kind: 'HelmChart',
    name: `${namespace}-${name}`,
    namespace: s.namespace,
  }));
  return [...ref(spec.sourceRef), ...ref(spec.chartRef), ...generatedChart];
}

const sameRef = (a: FluxObjectRef, b: FluxObjectRef) =>
  a.kind === b.kind && a.name === b.name && a.namespace === b.namespace;

export interface KubeFluxSourceLookupOptions {
  kube: KubeApi;
  /** Where retried API calls are logged; default nowhere. */
  logger?: Logger;
  retry?: Partial<BackoffOptions>;
  /** How long a read is retried through transient API faults; default 10 s. */
  callTimeoutMs?: number;
}

/** How long an object's sources are remembered. */
const CACHE_MS = 30_000;

/**
 * Reads the Kustomization/HelmRelease through the Kubernetes client's retries, caching its sources
 * briefly.
 */
export class KubeFluxSourceLookup implements FluxSourceLookup {
  private readonly client: KubeClient;
  private readonly callTimeoutMs: number;
  private readonly cache = new Map<string, { at: number; sources: FluxObjectRef[] }>();

  constructor(options: KubeFluxSourceLookupOptions) {
    this.client = new KubeClient({
      kube: options.kube,
      logger: options.logger ?? silentLogger,
      tool: 'kube',
      retry: options.retry,
    });
    this.callTimeoutMs = options.callTimeoutMs ?? 10_000;
  }

  async usesSource(target: FluxObjectRef, source: FluxObjectRef): Promise<boolean> {
    return (await this.sourcesOf(target)).some((s) => sameRef(s, source));
  }

  private async sourcesOf(target: FluxObjectRef): Promise<FluxObjectRef[]> {
    const key = targetId(target.kind, target.namespace, target.name);
    const cached = this.cache.get(key);
    if (cached && Date.now() - cached.at < CACHE_MS) return cached.sources;
    if (target.kind !== 'Kustomization' && target.kind !== 'HelmRelease') return [];
    let object: unknown;
    try {
      object = await getOrUndefined(this.client, FLUX_RESOURCES[target.kind], target.namespace, target.name, {
        deadline: Date.now() + this.callTimeoutMs,
      });
    } catch (err) {
      throw new FluxSourceLookupError(`cannot read ${key} to find its sources`, target, { cause: err });
    }
    if (object === undefined) return [];
    const sources = referencedSources(object as Parameters<typeof referencedSources>[0]);
    this.cache.set(key, { at: Date.now(), sources });
    return sources;
  }
}

type StaticFluxObject = { kind: string; metadata: { name: string; namespace?: string }; spec?: unknown };

/** A fixed map of objects to their sources: for tests and for the demo without a cluster. */
export class StaticFluxSourceLookup implements FluxSourceLookup {
  private readonly objects: StaticFluxObject[];
  constructor(options: { objects: StaticFluxObject[] }) {
    this.objects = options.objects;
  }

  async usesSource(target: FluxObjectRef, source: FluxObjectRef): Promise<boolean> {
    const object = this.objects.find(
      (o) =>
        o.kind === target.kind &&
        o.metadata.name === target.name &&
        (o.metadata.namespace ?? 'flux-system') === target.namespace,
    );
    return object ? referencedSources(object).some((s) => sameRef(s, source)) : false;
  }
}
