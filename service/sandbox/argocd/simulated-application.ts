import { createHash } from 'node:crypto';

/** How a scripted sync ends (per application, or per operation). */
export const SCRIPT_OUTCOMES = {
  success: 'success',
  failed: 'failed',
  /** The operation ends in phase Error (e.g. manifest generation failed). */
  error: 'error',
  degraded: 'degraded',
  progressing: 'progressing',
} as const;
export type ScriptOutcome = (typeof SCRIPT_OUTCOMES)[keyof typeof SCRIPT_OUTCOMES];

export interface AppScript {
  outcome?: ScriptOutcome;
  /**
   * Delay between state-machine steps (operation picked up, finished, reconciled); default the simulator's.
   */
  stepMs?: number;
  /** Extra time before health turns Healthy after a sync (a slow rollout); `markHealthy` ends it at once. */
  healthyAfterMs?: number;
  /** The revision every sync applies, whatever was requested (the source moved on, a mirror lags). */
  syncsRevision?: string;
  /** Health after a successful sync instead of Healthy, until `markHealthy`. */
  health?: 'Missing' | 'Suspended' | 'Unknown';
  /** The operation stays Running until it is terminated. */
  hold?: boolean;
}

export interface ApplicationSeed {
  name: string;
  namespace?: string;
  project?: string;
  targetRevision?: string;
  automated?: boolean;
  images?: string[];
  externalURLs?: string[];
  labels?: Record<string, string>;
  script?: AppScript;
}

export interface OperationRequest {
  revision?: string;
  prune?: boolean;
  syncOptions?: string[];
  info?: { name: string; value: string }[];
  initiatedBy: { username?: string; automated?: boolean };
  outcome?: ScriptOutcome;
  stepMs?: number;
  /** Delay until the controller picks the operation up (Running); default `stepMs`. */
  pickUpMs?: number;
}

// The Application is served as plain JSON, shaped like
// test/fixtures/gitops/argocd-application-get-response.json.
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * One Argo CD Application and the controller's state machine for it: an operation is set, picked up
 * (Running), finished (Succeeded/Failed, operation cleared), re-compared (reconciledAt), then health
 * moves from Progressing to Healthy or Degraded as the script says. Every change calls `onChange`.
 */
export class SimulatedApplication {
  readonly app: Json;
  script: AppScript;
  syncWindowActive = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private healthTimer?: NodeJS.Timeout;
  private readonly onChange: () => void;
  private readonly defaultStepMs: number;
  private resourceVersion = 1000;
  /** Ends the operation the controller is running, as scripted; unset while none runs. */
  private finishRunning?: () => void;

  constructor(seed: ApplicationSeed, options: { stepMs: number; onChange: () => void }) {
    this.script = seed.script ?? {};
    this.onChange = options.onChange;
    this.defaultStepMs = options.stepMs;
    this.app = initialApplication(seed);
  }

  get name(): string {
    return this.app.metadata.name;
  }
  get namespace(): string {
    return this.app.metadata.namespace;
  }
  get project(): string {
    return this.app.spec.project;
  }
  get targetRevision(): string {
    return this.app.spec.source.targetRevision;
  }
  get automated(): boolean {
    return Boolean(this.app.spec.syncPolicy?.automated);
  }
  get operationRunning(): boolean {
    return Boolean(this.app.operation);
  }

  snapshot(): Json {
    return structuredClone(this.app);
  }

  /**
   * Sets `operation` (as `SetAppOperation` does) and runs the state machine. As in Argo CD, the
   * revision is resolved when the operation is requested (`operation.sync.revision` is a SHA even
   * when the caller named none), and `status.operationState` is cleared until the controller
   * picks the new operation up (util/argo SetAppOperation).
   */
  startOperation(request: OperationRequest): void {
    const step = this.stepOf(request.stepMs);
    const outcome = request.outcome ?? this.script.outcome ?? SCRIPT_OUTCOMES.success;
    const requested = resolveRevision(this.name, request.revision || this.targetRevision);
    const revision = this.script.syncsRevision
      ? resolveRevision(this.name, this.script.syncsRevision)
      : requested;
    const operation: Json = {
      sync: {
        revision: requested,
        prune: request.prune || undefined,
        syncOptions: request.syncOptions?.length ? request.syncOptions : undefined,
      },
      initiatedBy: request.initiatedBy,
    };
    if (request.info?.length) operation.info = request.info;
    this.clearHealthTimer();
    this.finishRunning = undefined;
    this.app.operation = JSON.parse(JSON.stringify(operation));
    delete this.app.status.operationState;
    this.changed();
    this.after(request.pickUpMs ?? step, () => {
      this.app.status.operationState = {
        operation: structuredClone(this.app.operation),
        phase: 'Running',
        message: 'one or more tasks are running',
        startedAt: now(),
      };
      this.changed();
      this.finishRunning = () => this.finish(outcome, revision, step);
      if (!this.script.hold) this.after(step, () => this.finishRunning?.());
    });
  }

  /** The controller ends the running operation now, as scripted (held or not). False when none runs. */
  endOperation(): boolean {
    const finish = this.finishRunning;
    if (!this.app.operation || !finish) return false;
    this.clearTimers();
    finish();
    return true;
  }

  /**
   * DELETE .../operation, as Argo CD does it: the server marks the operation `Terminating` (it
   * stays set), then the controller ends it as Failed "Operation terminated" and clears it. False
   * when there is none to terminate: no operation, or one requested but not yet picked up by the
   * controller (no `status.operationState` yet: TerminateOperation refuses it).
   */
  terminate(): boolean {
    const state = this.app.status.operationState;
    if (!this.app.operation || !state) return false;
    this.clearTimers();
    this.finishRunning = undefined;
    this.app.status.operationState = { ...state, phase: 'Terminating' };
    this.changed();
    this.after(this.stepOf(), () => {
      this.app.status.operationState = {
        ...state,
        phase: 'Failed',
        message: 'Operation terminated',
        finishedAt: now(),
      };
      delete this.app.operation;
      this.app.status.reconciledAt = now();
      this.changed();
    });
    return true;
  }

  /** Ends a slow rollout now: health Healthy. */
  markHealthy(): void {
    this.clearHealthTimer();
    this.setHealth('Healthy');
  }

  dispose(): void {
    this.clearTimers();
  }

  private finish(outcome: ScriptOutcome, revision: string, step: number): void {
    const state = this.app.status.operationState;
    const resources = this.resourceRefs();
    if (outcome === SCRIPT_OUTCOMES.error) {
      state.phase = 'Error';
      state.message =
        'rpc error: code = Unknown desc = Manifest generation error (cached): kustomize build failed';
      this.app.status.sync = { ...this.app.status.sync, status: 'Unknown' };
    } else if (outcome === SCRIPT_OUTCOMES.failed) {
      state.phase = 'Failed';
      state.message =
        'one or more objects failed to apply, reason: Deployment.apps "' + this.name + '" is invalid';
      state.syncResult = {
        revision,
        resources: resources.map((r) => ({
          ...r,
          status: r.kind === 'Deployment' ? 'SyncFailed' : 'Synced',
          message:
            r.kind === 'Deployment'
              ? `Deployment.apps "${r.name}" is invalid: spec.template.spec.containers[0].image: Required value`
              : `${r.kind.toLowerCase()}/${r.name} unchanged`,
          syncPhase: 'Sync',
        })),
      };
      this.app.status.sync = { ...this.app.status.sync, status: 'OutOfSync' };
    } else {
      state.phase = 'Succeeded';
      state.message = 'successfully synced (all tasks run)';
      state.syncResult = {
        revision,
        resources: resources.map((r) => ({
          ...r,
          status: 'Synced',
          message: `${r.kind.toLowerCase()}/${r.name} configured`,
          syncPhase: 'Sync',
        })),
      };
      const synced = revision === resolveRevision(this.name, this.targetRevision);
      this.app.status.sync = { ...this.app.status.sync, status: synced ? 'Synced' : 'OutOfSync', revision };
      this.app.status.history.push({
        id: this.app.status.history.length,
        revision,
        deployStartedAt: state.startedAt,
        deployedAt: now(),
        initiatedBy: state.operation.initiatedBy,
      });
      this.setAppHealth('Progressing');
      for (const r of this.app.status.resources)
        r.health =
          r.kind === 'Deployment'
            ? {
                status: 'Progressing',
                message: 'Waiting for rollout to finish: 0 of 1 updated replicas are available...',
              }
            : { status: 'Healthy' };
    }
    state.finishedAt = now();
    delete this.app.operation;
    this.finishRunning = undefined;
    this.changed();
    this.after(step, () => {
      this.app.status.reconciledAt = now();
      this.app.status.observedAt = this.app.status.reconciledAt;
      this.changed();
      if (
        outcome === SCRIPT_OUTCOMES.failed ||
        outcome === SCRIPT_OUTCOMES.error ||
        outcome === SCRIPT_OUTCOMES.progressing
      )
        return;
      this.healthTimer = this.after(this.script.healthyAfterMs ?? step, () =>
        outcome === SCRIPT_OUTCOMES.degraded
          ? this.setDegraded()
          : this.setHealth(this.script.health ?? 'Healthy'),
      );
    });
  }

  private stepOf(requested?: number): number {
    return requested ?? this.script.stepMs ?? this.defaultStepMs;
  }

  private setHealth(status: string): void {
    this.setAppHealth(status);
    for (const r of this.app.status.resources) r.health = { status };
    this.changed();
  }

  private setDegraded(): void {
    const message = `Deployment "${this.name}" exceeded its progress deadline`;
    this.setAppHealth('Degraded');
    for (const r of this.app.status.resources)
      r.health = r.kind === 'Deployment' ? { status: 'Degraded', message } : { status: 'Healthy' };
    this.changed();
  }

  /**
   * As Argo CD 3 has it: the application's health is a status and its last transition, no message
   * (deprecated, never set); why lies in the resources' health, which argocd-server fills in from the
   * resource tree (`resourceHealthSource: appTree`, server/application inferResourcesStatusHealth).
   */
  private setAppHealth(status: string): void {
    const previous = this.app.status.health;
    this.app.status.health = {
      status,
      lastTransitionTime: previous?.status === status ? previous.lastTransitionTime : nowSeconds(),
    };
  }

  private resourceRefs(): {
    group: string;
    version: string;
    kind: string;
    namespace: string;
    name: string;
  }[] {
    return this.app.status.resources.map((r: Json) => ({
      group: r.group ?? '',
      version: r.version,
      kind: r.kind,
      namespace: r.namespace,
      name: r.name,
    }));
  }

  private changed(): void {
    this.app.metadata.resourceVersion = String(++this.resourceVersion);
    this.onChange();
  }

  private after(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  private clearHealthTimer(): void {
    if (!this.healthTimer) return;
    clearTimeout(this.healthTimer);
    this.timers.delete(this.healthTimer);
    this.healthTimer = undefined;
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.healthTimer = undefined;
  }
}

/** A Git SHA for a revision: full SHAs as they are, short ones extended, branches/tags hashed. */
export function resolveRevision(appName: string, revision: string): string {
  if (/^[0-9a-f]{40}$/i.test(revision)) return revision.toLowerCase();
  const hash = createHash('sha1').update(`${appName}:${revision}`).digest('hex');
  if (/^[0-9a-f]{7,39}$/i.test(revision)) return (revision + hash).slice(0, 40).toLowerCase();
  return hash;
}

function now(): string {
  return new Date().toISOString();
}

/** metav1.Time as Kubernetes serialises it: whole seconds. */
function nowSeconds(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function initialApplication(seed: ApplicationSeed): Json {
  const namespace = seed.namespace ?? 'argocd';
  const targetRevision = seed.targetRevision ?? 'HEAD';
  const source = {
    repoURL: 'https://github.com/argoproj/argocd-example-apps',
    path: seed.name,
    targetRevision,
  };
  const destination = { server: 'https://kubernetes.default.svc', namespace: 'default' };
  const revision = resolveRevision(seed.name, targetRevision);
  const started = new Date(Date.now() - 60_000).toISOString();
  const finished = new Date(Date.now() - 58_000).toISOString();
  const resources = [
    {
      version: 'v1',
      kind: 'Service',
      namespace: 'default',
      name: seed.name,
      status: 'Synced',
      health: { status: 'Healthy' },
    },
    {
      group: 'apps',
      version: 'v1',
      kind: 'Deployment',
      namespace: 'default',
      name: seed.name,
      status: 'Synced',
      health: { status: 'Healthy' },
    },
  ];
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: {
      name: seed.name,
      namespace,
      uid: createHash('sha1').update(`${namespace}/${seed.name}`).digest('hex').slice(0, 32),
      resourceVersion: '1000',
      generation: 1,
      creationTimestamp: started,
      labels: seed.labels ?? {},
    },
    spec: {
      source,
      destination,
      project: seed.project ?? 'default',
      ...(seed.automated ? { syncPolicy: { automated: { prune: true, selfHeal: true } } } : {}),
    },
    status: {
      resources,
      sync: { status: 'Synced', comparedTo: { source, destination }, revision },
      health: { status: 'Healthy', lastTransitionTime: finished.replace(/\.\d{3}Z$/, 'Z') },
      resourceHealthSource: 'appTree',
      history: [{ id: 0, revision, deployStartedAt: started, deployedAt: finished, source }],
      reconciledAt: finished,
      observedAt: finished,
      operationState: {
        operation: { sync: { revision }, initiatedBy: { automated: true } },
        phase: 'Succeeded',
        message: 'successfully synced (all tasks run)',
        syncResult: {
          revision,
          source,
          resources: resources.map(({ health: _h, ...r }) => ({
            group: '',
            ...r,
            message: `${r.kind.toLowerCase()}/${r.name} created`,
            syncPhase: 'Sync',
          })),
        },
        startedAt: started,
        finishedAt: finished,
      },
      sourceType: 'Directory',
      summary: {
        images: seed.images ?? [`ghcr.io/example/${seed.name}:1.0.0`],
        ...(seed.externalURLs?.length ? { externalURLs: seed.externalURLs } : {}),
      },
    },
  };
}
