import { createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP server that accepts connections and never says a word: what a NATS or HTTP client meets
 * when the address is a wrong port, a proxy that does not forward, or a hung process.
 */
export class SilentServer {
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server) {
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('error', () => {});
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  static async start(): Promise<SilentServer> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new SilentServer(server);
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  /** How many connections were accepted and are still open. */
  get openConnections(): number {
    return this.sockets.size;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
