import type { KubeApiSimulator } from '../kube/kube-api-simulator.js';
import { kubeTimestamp, type KubeObject, type StoreEvent } from '../kube/object-store.js';
import type { ScriptedOutcome } from './scripted-outcome.js';
import { condition, DEFAULT_GIT_REVISION } from './seed.js';

export const REQUESTED_AT = 'reconcile.fluxcd.io/requestedAt';
export const FORCE_AT = 'reconcile.fluxcd.io/forceAt';

const RECONCILED_KINDS = new Set([
  'Kustomization',
  'HelmRelease',
  'GitRepository',
  'OCIRepository',
  'Bucket',
  'HelmChart',
]);
const SOURCE_KINDS = new Set(['GitRepository', 'OCIRepository', 'Bucket', 'HelmChart']);

export interface FluxControllerSimulatorOptions {
  /** Time a reconcile takes unless scripted otherwise (default 30 ms). */
  delayMs?: number;
}

interface Status {
  observedGeneration?: number;
  lastHandledReconcileAt?: string;
  lastHandledForceAt?: string;
  conditions?: Record<string, unknown>[];
  lastAppliedRevision?: string;
  lastAttemptedRevision?: string;
  history?: Record<string, unknown>[];
  artifact?: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * Flux's controllers, reduced to what a deployer sees: when `requestedAt` changes on a Flux object
 * they write an intermediate status (Ready=Unknown, Reconciling/Progressing, the old
 * lastHandledReconcileAt) and then, after a delay, the final status with the token and the scripted
 * outcome, as kustomize-, helm- and source-controller do.
 */
export class FluxControllerSimulator {
  private readonly delayMs: number;
  private readonly outcomes = new Map<string, ScriptedOutcome>();
  private readonly upstream = new Map<string, string>();
  private readonly inFlight = new Set<string>();
  /**
   * The last token each object's reconcile handled (an overtaking token leaves ours unequal to
   * lastHandledReconcileAt).
   */
  private readonly handled = new Map<string, string>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly unsubscribe: () => void;
  private stopped = false;
  /** Reconciles finished, by `Kind/ns/name`, for assertions. */
  readonly reconciles = new Map<string, number>();

  constructor(
    private readonly sim: KubeApiSimulator,
    options: FluxControllerSimulatorOptions = {},
  ) {
    this.delayMs = options.delayMs ?? 30;
    this.unsubscribe = sim.store.subscribe((event) => this.onEvent(event));
  }

  /** Outcome of the next reconciles of `Kind/ns/name` (until changed). */
  script(kind: string, namespace: string, name: string, outcome: ScriptedOutcome): void {
    this.outcomes.set(`${kind}/${namespace}/${name}`, outcome);
  }

  /** The revision a source's next reconcile stores (a new commit / chart version upstream). */
  setSourceRevision(
    kind: 'GitRepository' | 'OCIRepository' | 'Bucket' | 'HelmChart',
    namespace: string,
    name: string,
    revision: string,
  ): void {
    this.upstream.set(`${kind}/${namespace}/${name}`, revision);
  }

  /** Sets `spec.suspend: true`: the controller ignores the object from now on. */
  suspend(kind: string, namespace: string, name: string): void {
    const obj = this.sim.get(kind, namespace, name);
    if (!obj) throw new Error(`${kind} ${namespace}/${name} not found`);
    this.sim.update(kind, { ...obj, spec: { ...(obj.spec as object), suspend: true } });
  }

  /** Ends the wait of held or slow reconciles of objects called `name` now. */
  markReady(name: string): void {
    for (const [key, set] of this.waiters) {
      if (key.split('/')[2] !== name) continue;
      for (const wake of set) wake();
      this.waiters.delete(key);
    }
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    for (const t of this.timers) clearTimeout(t);
    for (const set of this.waiters.values()) for (const wake of set) wake();
    this.waiters.clear();
  }

  private onEvent(event: StoreEvent): void {
    if (this.stopped || event.type === 'DELETED' || !RECONCILED_KINDS.has(event.resourceType.kind)) return;
    const obj = event.object;
    const token = obj.metadata.annotations?.[REQUESTED_AT];
    const status = (obj.status ?? {}) as Status;
    if (
      !token ||
      token === status.lastHandledReconcileAt ||
      (obj.spec as { suspend?: boolean } | undefined)?.suspend
    )
      return;
    const id = `${event.resourceType.kind}/${obj.metadata.namespace}/${obj.metadata.name}`;
    const key = `${id}/${token}`;
    if (this.inFlight.has(key) || this.handled.get(id) === token) return;
    this.inFlight.add(key);
    // Not inside the store's write: that would reorder watch events.
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.reconcile(event.resourceType.kind, obj, token).finally(() => {
        this.inFlight.delete(key);
        this.handled.set(id, token);
      });
    }, 0);
    this.timers.add(timer);
  }

  private async reconcile(kind: string, obj: KubeObject, token: string): Promise<void> {
    const id = `${kind}/${obj.metadata.namespace}/${obj.metadata.name}`;
    const outcome = this.outcomes.get(id) ?? { type: 'success' };
    const keepsReady = outcome.type === 'stale-ready' || outcome.type === 'older-generation';
    this.writeStatus(kind, obj, (s) => {
      s.conditions = upsert(
        s.conditions,
        condition('Reconciling', 'True', 'Progressing', 'Reconciliation in progress'),
      );
      if (!keepsReady)
        s.conditions = upsert(
          s.conditions,
          condition('Ready', 'Unknown', 'Progressing', 'Reconciliation in progress'),
        );
    });
    await this.wait(id, outcome);
    if (this.stopped) return;
    const current = this.sim.get(kind, obj.metadata.namespace, obj.metadata.name);
    if (!current) return;
    const generation = current.metadata.generation ?? 1;
    switch (outcome.type) {
      case 'success':
        this.succeed(kind, current, token, this.revisionFor(kind, current));
        break;
      case 'wrong-revision':
        this.succeed(kind, current, token, outcome.revision);
        break;
      case 'overtaken':
        this.succeed(kind, current, laterToken(token), outcome.revision ?? this.revisionFor(kind, current));
        break;
      case 'later-running':
        this.writeStatus(kind, current, (s) => {
          s.lastHandledReconcileAt = token;
          s.conditions = upsert(
            s.conditions,
            condition('Reconciling', 'True', 'Progressing', 'Reconciliation in progress'),
          );
          s.conditions = upsert(
            s.conditions,
            condition('Ready', 'Unknown', 'Progressing', 'Reconciliation in progress'),
          );
        });
        await this.wait(id, { type: 'success', delayMs: outcome.delayMs });
        if (!this.stopped)
          this.succeed(
            kind,
            this.sim.get(kind, obj.metadata.namespace, obj.metadata.name)!,
            laterToken(token),
            this.revisionFor(kind, current),
          );
        break;
      case 'stale-ready':
        // The previous reconcile's Ready=True (and applied revision) stay while this one still runs.
        this.writeStatus(kind, current, (s) => {
          s.lastHandledReconcileAt = token;
        });
        await this.wait(id, { type: 'success', delayMs: outcome.delayMs });
        if (!this.stopped)
          this.succeed(
            kind,
            this.sim.get(kind, obj.metadata.namespace, obj.metadata.name)!,
            token,
            this.revisionFor(kind, current),
          );
        break;
      case 'older-generation': {
        // Someone changed the spec meanwhile: the status written for our token describes the older
        // generation.
        const changed = this.sim.update(kind, {
          ...current,
          spec: { ...(current.spec as object), interval: '6m' },
        });
        this.writeStatus(kind, changed, (s) => {
          s.lastHandledReconcileAt = token;
          s.conditions = remove(s.conditions, 'Reconciling');
        });
        await this.wait(id, { type: 'success', delayMs: outcome.delayMs });
        if (!this.stopped)
          this.succeed(
            kind,
            this.sim.get(kind, obj.metadata.namespace, obj.metadata.name)!,
            token,
            this.revisionFor(kind, current),
          );
        break;
      }
      case 'retry':
      case 'dependency-not-ready': {
        const reason =
          outcome.type === 'retry' ? (outcome.reason ?? 'HealthCheckFailed') : 'DependencyNotReady';
        const message =
          outcome.type === 'retry'
            ? outcome.message
            : `dependency '${outcome.dependency ?? 'flux-system/infrastructure'}' is not ready`;
        const failedHealthCheck = kind === 'Kustomization' && reason === 'HealthCheckFailed';
        this.writeStatus(kind, current, (s) => {
          s.lastHandledReconcileAt = token;
          s.lastAttemptedRevision = this.revisionFor(kind, current);
          const step = failedHealthCheck ? 'Running health checks' : 'Detecting drift';
          s.conditions = upsert(
            s.conditions,
            condition(
              'Reconciling',
              'True',
              'ProgressingWithRetry',
              `${step} for revision ${s.lastAttemptedRevision}`,
            ),
          );
          s.conditions = upsert(s.conditions, condition('Ready', 'False', reason, message));
          // kustomize-controller: Healthy=False says what timed out (Ready's message without its prefix).
          if (failedHealthCheck) {
            const cause = message.replace(/^health check failed after [^:]*: /, '');
            s.conditions = upsert(s.conditions, condition('Healthy', 'False', reason, cause));
          }
        });
        break;
      }
      case 'stalled':
        this.writeStatus(kind, current, (s) => {
          s.lastHandledReconcileAt = token;
          s.observedGeneration = generation;
          s.conditions = remove(s.conditions, 'Reconciling');
          s.conditions = upsert(
            s.conditions,
            condition('Stalled', 'True', outcome.reason ?? 'BuildFailed', outcome.message),
          );
          s.conditions = upsert(
            s.conditions,
            condition('Ready', 'False', outcome.reason ?? 'BuildFailed', outcome.message),
          );
        });
        break;
    }
    this.reconciles.set(id, (this.reconciles.get(id) ?? 0) + 1);
  }

  private succeed(kind: string, obj: KubeObject, token: string, revision: string): void {
    const generation = obj.metadata.generation ?? 1;
    const force = obj.metadata.annotations?.[FORCE_AT];
    this.writeStatus(kind, obj, (s) => {
      s.lastHandledReconcileAt = token;
      if (force && force === obj.metadata.annotations?.[REQUESTED_AT]) s.lastHandledForceAt = force;
      s.observedGeneration = generation;
      s.conditions = remove(remove(s.conditions, 'Reconciling'), 'Stalled');
      if (kind === 'Kustomization') {
        s.lastAppliedRevision = revision;
        s.lastAttemptedRevision = revision;
        s.conditions = upsert(
          s.conditions,
          condition('Ready', 'True', 'ReconciliationSucceeded', `Applied revision: ${revision}`, generation),
        );
        // kustomize-controller keeps a Healthy condition only when it runs health checks.
        s.conditions = healthChecked(obj)
          ? upsert(
              s.conditions,
              condition(
                'Healthy',
                'True',
                'Succeeded',
                `Health check passed in ${this.delayMs}ms`,
                generation,
              ),
            )
          : remove(s.conditions, 'Healthy');
      } else if (kind === 'HelmRelease') {
        s.history = [
          this.snapshot(obj, revision, s.history ?? []),
          ...(s.history ?? []).map((h) => ({ ...h, status: 'superseded' })),
        ].slice(0, 5);
        s.lastAttemptedRevision = revision;
        const action = (s.history.length > 1 ? 'Upgrade' : 'Install') as string;
        const message = `Helm ${action.toLowerCase()} succeeded for release ${obj.metadata.namespace}/${obj.metadata.name}.v${s.history.length} with chart ${this.chartName(obj)}@${revision}`;
        // helm-controller writes the same reason and message on Released as on Ready.
        for (const type of ['Ready', 'Released']) {
          s.conditions = upsert(
            s.conditions,
            condition(type, 'True', `${action}Succeeded`, message, generation),
          );
        }
      } else {
        const path = `${kind.toLowerCase()}/${obj.metadata.namespace}/${obj.metadata.name}/artifact.tar.gz`;
        s.artifact = {
          ...(s.artifact ?? {}),
          revision,
          lastUpdateTime: kubeTimestamp(),
          digest: 'sha256:e750c7a46724acaef8f8aa926259af30bbd9face2ae065ae8896ba5ee5ab832b',
          path,
          size: 1024,
          url: `http://source-controller.flux-system.svc.cluster.local./${path}`,
        };
        // source-controller: ArtifactInStorage beside Ready, with the same reason and message.
        const [reason, message] =
          kind === 'HelmChart'
            ? [
                'ChartPullSucceeded',
                `pulled '${(obj.spec as { chart?: string }).chart}' chart with version '${revision}'`,
              ]
            : ['Succeeded', `stored artifact for revision '${revision}'`];
        for (const type of ['Ready', 'ArtifactInStorage']) {
          s.conditions = upsert(s.conditions, condition(type, 'True', reason, message, generation));
        }
      }
    });
  }

  private snapshot(
    obj: KubeObject,
    chartVersion: string,
    previous: Record<string, unknown>[],
  ): Record<string, unknown> {
    const now = kubeTimestamp();
    return {
      name: obj.metadata.name,
      namespace: obj.metadata.namespace,
      version: previous.length + 1,
      status: 'deployed',
      action: previous.length ? 'upgrade' : 'install',
      chartName: this.chartName(obj),
      chartVersion,
      appVersion: chartVersion,
      configDigest: 'sha256:4f3c0c2a1c0e5d1f9d5e1b2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d',
      digest: 'sha256:8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b',
      firstDeployed: (previous[0]?.firstDeployed as string | undefined) ?? now,
      lastDeployed: now,
    };
  }

  private chartName(obj: KubeObject): string {
    const spec = obj.spec as { chart?: { spec?: { chart?: string } }; chartRef?: { name: string } };
    return spec.chart?.spec?.chart ?? spec.chartRef?.name ?? obj.metadata.name;
  }

  /** What a reconcile of `obj` applies: the source's artifact (sources: the upstream revision). */
  private revisionFor(kind: string, obj: KubeObject): string {
    const ns = obj.metadata.namespace!;
    if (SOURCE_KINDS.has(kind)) {
      const status = (obj.status ?? {}) as Status;
      const version = (obj.spec as { version?: string }).version;
      return (
        this.upstream.get(`${kind}/${ns}/${obj.metadata.name}`) ??
        (status.artifact?.revision as string | undefined) ??
        version ??
        DEFAULT_GIT_REVISION
      );
    }
    if (kind === 'Kustomization') {
      const ref = (obj.spec as { sourceRef: { kind: string; name: string; namespace?: string } }).sourceRef;
      return artifactRevision(this.sim.get(ref.kind, ref.namespace ?? ns, ref.name)) ?? DEFAULT_GIT_REVISION;
    }
    const spec = obj.spec as {
      chart?: { spec?: { version?: string; sourceRef?: { namespace?: string } } };
      chartRef?: { kind: string; name: string; namespace?: string };
    };
    const chart = spec.chartRef
      ? this.sim.get(spec.chartRef.kind, spec.chartRef.namespace ?? ns, spec.chartRef.name)
      : this.sim.get('HelmChart', spec.chart?.spec?.sourceRef?.namespace ?? ns, `${ns}-${obj.metadata.name}`);
    return artifactRevision(chart) ?? spec.chart?.spec?.version ?? '1.0.0';
  }

  private writeStatus(kind: string, obj: KubeObject, change: (status: Status) => void): void {
    if (this.stopped) return;
    const current = this.sim.get(kind, obj.metadata.namespace, obj.metadata.name);
    if (!current) return;
    const status = structuredClone((current.status ?? {}) as Status);
    change(status);
    this.sim.update(kind, { ...current, status }, 'status');
  }

  private wait(id: string, outcome: ScriptedOutcome): Promise<void> {
    return new Promise((resolve) => {
      const set = this.waiters.get(id) ?? new Set();
      const done = () => {
        clearTimeout(timer);
        this.timers.delete(timer);
        set.delete(done);
        resolve();
      };
      set.add(done);
      this.waiters.set(id, set);
      const timer = setTimeout(done, outcome.hold ? 2 ** 31 - 1 : (outcome.delayMs ?? this.delayMs));
      this.timers.add(timer);
    });
  }
}

/** Whether kustomize-controller runs health checks on this Kustomization (spec.wait or healthChecks). */
function healthChecked(obj: KubeObject): boolean {
  const spec = (obj.spec ?? {}) as { wait?: boolean; healthChecks?: unknown[] };
  return spec.wait === true || (spec.healthChecks?.length ?? 0) > 0;
}

function artifactRevision(obj: KubeObject | undefined): string | undefined {
  return ((obj?.status ?? {}) as Status).artifact?.revision as string | undefined;
}

/** A token one second after `token` (a reconcile requested later). */
function laterToken(token: string): string {
  const t = Date.parse(token);
  return new Date((Number.isNaN(t) ? Date.now() : t) + 1000).toISOString();
}

function upsert(
  conditions: Record<string, unknown>[] | undefined,
  next: Record<string, unknown>,
): Record<string, unknown>[] {
  const list = (conditions ?? []).filter((c) => c.type !== next.type);
  const previous = (conditions ?? []).find((c) => c.type === next.type);
  if (previous && previous.status === next.status) next.lastTransitionTime = previous.lastTransitionTime;
  return next.type === 'Ready' ? [next, ...list] : [...list, next];
}

function remove(conditions: Record<string, unknown>[] | undefined, type: string): Record<string, unknown>[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}
