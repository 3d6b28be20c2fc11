import type { Application } from '../../../service/deployers/argocd/application.js';

/** One view of an application's operation, as a watch event carried it. */
export interface OperationView {
  type: string;
  /** `operation` set (requested or running). */
  requested: boolean;
  phase?: string;
  message?: string;
  /** Of the operation in `status.operationState` (the one running or last run). */
  automated: boolean;
  triggeredid?: string;
  startedAt?: string;
  /** `triggeredid` in the info of `operation` (requested, not necessarily started yet). */
  requestedBy?: string;
  sync?: string;
  health?: string;
}

/**
 * Records every event of `GET /api/v1/stream/applications?name=` (what the service follows), as
 * the raw lines the server sent and as operation views, so that a test can say which transitions
 * the real controller went through.
 */
export class ApplicationStream {
  readonly lines: string[] = [];
  readonly views: OperationView[] = [];
  private readonly abort = new AbortController();
  private readonly done: Promise<void>;

  constructor(server: string, token: string, name: string) {
    this.done = this.read(server, token, name).catch(() => undefined);
  }

  /** The views whose operation fields differ from the one before (the transitions). */
  transitions(): OperationView[] {
    const key = (v: OperationView) =>
      JSON.stringify([v.requested, v.phase, v.message, v.automated, v.triggeredid, v.startedAt]);
    return this.views.filter((v, i) => i === 0 || key(v) !== key(this.views[i - 1]!));
  }

  /** How many operations carrying this trigger id the controller started (distinct `startedAt`). */
  operationsOf(triggeredid: string): number {
    return new Set(this.views.filter((v) => v.triggeredid === triggeredid).map((v) => v.startedAt)).size;
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.done;
  }

  private async read(server: string, token: string, name: string): Promise<void> {
    const res = await fetch(`${server}/api/v1/stream/applications?name=${encodeURIComponent(name)}`, {
      headers: { authorization: `Bearer ${token}` },
      signal: this.abort.signal,
    });
    if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
    const decoder = new TextDecoder();
    let rest = '';
    for await (const chunk of res.body) {
      const parts = (rest + decoder.decode(chunk, { stream: true })).split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts.filter((l) => l.trim())) {
        this.lines.push(line);
        const event = JSON.parse(line) as { result?: { type?: string; application?: Application } };
        const app = event.result?.application;
        if (app) this.views.push(viewOf(event.result!.type ?? '', app));
      }
    }
  }
}

function viewOf(type: string, app: Application): OperationView {
  const state = app.status?.operationState ?? undefined;
  const triggeredid = (op: { info?: { name: string; value: string }[] } | null | undefined) =>
    op?.info?.find((i) => i.name === 'triggeredid')?.value;
  return {
    type,
    requested: Boolean(app.operation),
    phase: state?.phase,
    message: state?.message,
    automated: Boolean(state?.operation?.initiatedBy?.automated),
    triggeredid: triggeredid(state?.operation),
    startedAt: state?.startedAt,
    requestedBy: triggeredid(app.operation),
    sync: app.status?.sync?.status,
    health: app.status?.health?.status,
  };
}
