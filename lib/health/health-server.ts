import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HealthServerOptions {
  /** `HEALTH_ENDPOINT_PORT`; 0 picks a free one. */
  port: number;
  host?: string;
  registry: Registry;
  /** `/health`: 200 once registered (go-sdk), else 412. */
  isRegistered(): boolean;
  /** `/ready`: 200 only while a trigger published now would reach us, else 503. */
  isReady(): boolean;
  /** What `/health` and `/ready` wait for, said in the body of a 412 or 503. */
  waitingFor?(): string[];
}

/** A listen failure that names the port, what it is for and the variable that sets it. */
export function listenError(err: NodeJS.ErrnoException, port: number, what: string, envVar: string): Error {
  const why =
    err.code === 'EADDRINUSE'
      ? 'the port is already in use'
      : err.code === 'EACCES'
        ? 'permission denied (ports below 1024 need privileges)'
        : err.message;
  return new Error(`cannot listen on port ${port} for ${what}: ${why}; choose another with ${envVar}`, {
    cause: err,
  });
}

const JSON_TYPE = { 'content-type': 'application/json' };

/** `GET /health`, `GET /ready`, `GET /metrics`. */
export class HealthServer {
  private server?: Server;
  constructor(private readonly options: HealthServerOptions) {}

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  async start(): Promise<number> {
    const { registry, isRegistered, isReady } = this.options;
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET') {
        res.writeHead(405).end();
      } else if (path === '/health') {
        if (isRegistered()) res.writeHead(200, JSON_TYPE).end('{"status":"OK"}');
        else res.writeHead(412, JSON_TYPE).end(this.waitingBody('not registered'));
      } else if (path === '/ready') {
        if (isReady()) res.writeHead(200, JSON_TYPE).end('{"status":"OK"}');
        else res.writeHead(503, JSON_TYPE).end(this.waitingBody('not ready'));
      } else if (path === '/metrics') {
        registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
          () => res.writeHead(500).end(),
        );
      } else {
        res.writeHead(404).end();
      }
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(listenError(err, this.options.port, 'health and metrics', 'HEALTH_ENDPOINT_PORT')),
      );
      server.listen(this.options.port, this.options.host ?? '0.0.0.0', () => resolve());
    });
    return this.port;
  }

  private waitingBody(status: string): string {
    return JSON.stringify({ status, waitingFor: this.options.waitingFor?.() ?? [] });
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
