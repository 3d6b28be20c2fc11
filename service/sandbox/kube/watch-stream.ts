import type { ServerResponse } from 'node:http';
import type { KubeObject, ObjectStore, StoreEvent } from './object-store.js';
import type { ResourceType } from './resource-types.js';
import { ApiStatusError } from './status.js';

export interface WatchParams {
  type: ResourceType;
  namespace?: string;
  resourceVersion?: string;
  timeoutSeconds?: number;
  filter: (obj: KubeObject) => boolean;
}

/**
 * One open watch: writes `{type, object}` lines, starting from a resourceVersion (history replay,
 * or an ERROR 410 when it is too old) or with ADDED for everything when none is given.
 */
export class WatchStream {
  private unsubscribe?: () => void;
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly store: ObjectStore,
    private readonly res: ServerResponse,
    private readonly params: WatchParams,
    private readonly onClose: (stream: WatchStream) => void,
  ) {}

  start(): void {
    this.res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    this.res.flushHeaders();
    this.res.on('close', () => this.close());
    const { resourceVersion } = this.params;
    if (!resourceVersion || resourceVersion === '0') {
      for (const obj of this.store.list(this.params.type, this.params.namespace)) {
        if (this.params.filter(obj)) this.write('ADDED', obj);
      }
    } else {
      let backlog: StoreEvent[];
      try {
        backlog = this.store.eventsSince(Number(resourceVersion));
      } catch (err) {
        if (!(err instanceof ApiStatusError)) throw err;
        this.write('ERROR', err.toStatus());
        this.close();
        return;
      }
      for (const event of backlog) this.forward(event);
    }
    this.unsubscribe = this.store.subscribe((event) => this.forward(event));
    if (this.params.timeoutSeconds)
      this.timer = setTimeout(() => this.close(), this.params.timeoutSeconds * 1000);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    clearTimeout(this.timer);
    this.res.end();
    this.onClose(this);
  }

  private forward(event: StoreEvent): void {
    if (event.resourceType !== this.params.type) return;
    if (this.params.namespace !== undefined && event.object.metadata.namespace !== this.params.namespace)
      return;
    if (!this.params.filter(event.object)) return;
    this.write(event.type, event.object);
  }

  private write(type: string, object: unknown): void {
    if (this.closed) return;
    this.res.write(JSON.stringify({ type, object }) + '\n');
  }
}
