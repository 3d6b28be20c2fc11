/** What an injected fault does to a matching request. */
export type FaultEffect = number | 'reset' | 'timeout' | 'applied-timeout';

export interface RequestInfo {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** The raw path and query, for matches that need more. */
  url: string;
}

export interface FaultSpec {
  /** How many matching requests fail (default 1). */
  count?: number;
  /**
   * An HTTP status answered as a Status object, `reset` (socket destroyed), `timeout` (never
   * answered) or `applied-timeout` (carried out, but never answered: a response lost on the way).
   */
  status: FaultEffect;
  match?: Partial<Omit<RequestInfo, 'url'>> | ((req: RequestInfo) => boolean);
}

/** Pending faults, consumed in order by the requests they match. */
export class FaultQueue {
  private readonly faults: { spec: FaultSpec; left: number }[] = [];

  add(spec: FaultSpec): void {
    this.faults.push({ spec, left: spec.count ?? 1 });
  }

  clear(): void {
    this.faults.length = 0;
  }

  take(req: RequestInfo): FaultEffect | undefined {
    const fault = this.faults.find((f) => f.left > 0 && matches(f.spec.match, req));
    if (!fault) return undefined;
    fault.left -= 1;
    if (fault.left === 0) this.faults.splice(this.faults.indexOf(fault), 1);
    return fault.spec.status;
  }
}

function matches(match: FaultSpec['match'], req: RequestInfo): boolean {
  if (!match) return true;
  if (typeof match === 'function') return match(req);
  return Object.entries(match).every(([k, v]) => v === undefined || req[k as keyof RequestInfo] === v);
}
