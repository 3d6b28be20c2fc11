import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy in front of argocd-server that can stall the watch streams: while stalled, nothing
 * the server sends on a connection that asked for `/api/v1/stream/` reaches the client (the
 * connection stays open, as a stuck proxy or load balancer would leave it). Other requests pass.
 */
export class StallingProxy {
  private server?: Server;
  private stalled = false;
  private readonly streams = new Set<{ client: Socket; upstream: Socket; held: Buffer[] }>();

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<this> {
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** From now on, watch-stream answers are held back. */
  stallStreams(): void {
    this.stalled = true;
  }

  /** Delivers what was held and passes everything again. */
  resume(): void {
    this.stalled = false;
    for (const stream of this.streams) {
      for (const chunk of stream.held.splice(0)) stream.client.write(chunk);
    }
  }

  async stop(): Promise<void> {
    for (const { client, upstream } of this.streams) {
      client.destroy();
      upstream.destroy();
    }
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(client: Socket): void {
    const upstream = connect(this.target.port, this.target.host);
    let isStream = false;
    const entry = { client, upstream, held: [] as Buffer[] };
    client.on('data', (chunk: Buffer) => {
      // A keep-alive connection may carry a stream after other requests: look at every request.
      if (!isStream && chunk.includes('/api/v1/stream/')) {
        isStream = true;
        this.streams.add(entry);
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (isStream && this.stalled) entry.held.push(chunk);
      else client.write(chunk);
    });
    const close = () => {
      this.streams.delete(entry);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  }
}
