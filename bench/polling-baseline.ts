import { sleep } from './stats.js';

export const POLL_INTERVAL_MS = 2000;
/** Added to the poller's kube URLs so its requests can be told from the service's. */
export const POLLER_MARK = 'bench-poller=1';

/**
 * The status-polling way of waiting, as `flux reconcile` does (GET at once, then every 2 s, until
 * the object reports the reconcile done): resolves with the hrtime of the first GET that saw it.
 */
export class Poller {
  requests = 0;
  seenAt?: bigint;
  private stopped = false;
  readonly done: Promise<void>;

  constructor(
    private readonly get: () => Promise<unknown>,
    private readonly isDone: (body: unknown) => boolean,
    maxPolls = 10,
  ) {
    this.done = this.run(maxPolls);
  }

  stop(): void {
    this.stopped = true;
  }

  private async run(maxPolls: number): Promise<void> {
    for (let i = 0; i < maxPolls && !this.stopped; i++) {
      const started = Date.now();
      this.requests++;
      const body = await this.get().catch(() => undefined);
      if (body !== undefined && this.isDone(body)) {
        this.seenAt = process.hrtime.bigint();
        return;
      }
      await sleep(Math.max(0, POLL_INTERVAL_MS - (Date.now() - started)));
    }
  }
}

export async function getJson(url: string, headers: Record<string, string> = {}): Promise<unknown> {
  const res = await fetch(url, { headers });
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return res.json();
}
