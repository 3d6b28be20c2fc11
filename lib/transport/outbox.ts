import { headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { abortableSleep } from '../http/backoff.js';

interface Pending {
  subject: string;
  bytes: Uint8Array;
  /** JetStream's `Nats-Msg-Id`: a stream stores one message per id within its duplicate window. */
  headers?: MsgHdrs;
  /** What counts against the server's max_payload: the bytes and the encoded headers. */
  size: number;
  /** When it was queued (epoch ms). */
  since: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface OutboxOptions {
  /** Pause before retrying a batch whose flush failed; default 50 ms. */
  retryDelayMs?: number;
}

/**
 * An event the server will never accept as it is (larger than its `max_payload`): retrying cannot
 * help, so it is rejected at once instead of blocking the events queued behind it.
 */
export class UnpublishableError extends Error {
  constructor(
    readonly subject: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super(`${subject} is ${size} bytes, over the NATS server's max_payload of ${limit} bytes`);
    this.name = 'UnpublishableError';
  }
}

/**
 * Publishes in order and resolves each publish only once a PING/PONG round trip after it has
 * succeeded, i.e. the server has the message. nats.js drops its outbound buffer when it re-dials
 * (`resetOutbound`) and rejects pending flushes, so a batch whose flush fails is published again
 * after the reconnect: at-least-once, never lost. Failures are sorted: a lost connection is
 * transient (retried, in order); an event over the server's `max_payload` never becomes
 * publishable and is rejected with an UnpublishableError without holding up the rest.
 */
export class NatsOutbox {
  private readonly queue: Pending[] = [];
  private pumping = false;
  private idleWaiters: (() => void)[] = [];
  private readonly retryDelayMs: number;

  constructor(
    private readonly nc: NatsConnection,
    options: OutboxOptions = {},
  ) {
    this.retryDelayMs = options.retryDelayMs ?? 50;
  }

  publish(subject: string, bytes: Uint8Array, msgId?: string): Promise<void> {
    if (this.nc.isClosed())
      return Promise.reject(new Error(`cannot publish ${subject}: the NATS connection is closed`));
    const h = msgId === undefined ? undefined : msgIdHeader(msgId);
    // The header block as the client writes it: `NATS/1.0\r\nNats-Msg-Id: <id>\r\n\r\n`.
    const size =
      bytes.length +
      (msgId === undefined ? 0 : Buffer.byteLength(`NATS/1.0\r\nNats-Msg-Id: ${msgId}\r\n\r\n`));
    const tooLarge = this.oversize(subject, size);
    if (tooLarge) return Promise.reject(tooLarge);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ subject, bytes, headers: h, size, since: Date.now(), resolve, reject });
      void this.pump();
    });
  }

  /** How long the oldest event still queued has waited (0 when none waits). */
  stalledForMs(now = Date.now()): number {
    const head = this.queue[0];
    return head ? now - head.since : 0;
  }

  /** Resolves when everything queued so far has been flushed (or `signal` aborts). */
  async idle(signal?: AbortSignal): Promise<void> {
    if (this.queue.length === 0 && !this.pumping) return;
    await new Promise<void>((resolve) => {
      this.idleWaiters.push(resolve);
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  /** Rejects whatever is still queued (after close). */
  failAll(reason: string): void {
    for (const p of this.queue.splice(0)) p.reject(new Error(`${reason}: ${p.subject} was not published`));
  }

  private oversize(subject: string, size: number): UnpublishableError | undefined {
    const limit = this.nc.info?.max_payload;
    return limit !== undefined && size > limit ? new UnpublishableError(subject, size, limit) : undefined;
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.slice();
        if (!(await this.send(batch))) break;
        this.queue.splice(0, batch.length);
        for (const p of batch) p.resolve();
      }
    } finally {
      this.pumping = false;
      if (this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** True once the batch is on the server; false when the connection is closed for good. */
  private async send(batch: Pending[]): Promise<boolean> {
    for (;;) {
      if (this.nc.isClosed()) {
        this.failAll('the NATS connection closed');
        return false;
      }
      try {
        for (const p of batch) this.nc.publish(p.subject, p.bytes, p.headers && { headers: p.headers });
        await this.nc.flush();
        return true;
      } catch {
        // A server that reconnects with a smaller max_payload makes queued events unpublishable: reject
        // those, keep the rest.
        for (const p of batch.filter((q) => this.oversize(q.subject, q.size))) {
          batch.splice(batch.indexOf(p), 1);
          this.queue.splice(this.queue.indexOf(p), 1);
          p.reject(this.oversize(p.subject, p.size)!);
        }
        await abortableSleep(this.retryDelayMs);
      }
    }
  }
}

function msgIdHeader(msgId: string) {
  const h = headers();
  h.set('Nats-Msg-Id', msgId);
  return h;
}
