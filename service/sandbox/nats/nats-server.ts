import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../free-port.js';

export interface NatsServerOptions {
  jetstream?: boolean;
}

/**
 * A real `nats-server` (the Debian package, on the PATH; tests and the demo use it) on 127.0.0.1 and a free
 * port. `restart()` brings it back on the same port (and the same JetStream store), for outage tests.
 */
export class NatsServer {
  private child?: ChildProcess;
  private constructor(
    readonly port: number,
    private readonly storeDir: string | undefined,
  ) {}

  static async start(options: NatsServerOptions = {}): Promise<NatsServer> {
    const storeDir = options.jetstream ? mkdtempSync(join(tmpdir(), 'nats-js-')) : undefined;
    const server = new NatsServer(await freePort(), storeDir);
    await server.launch();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async restart(downForMs = 0): Promise<void> {
    await this.stop();
    if (downForMs) await new Promise((r) => setTimeout(r, downForMs));
    await this.launch();
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    this.child = undefined;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** Stops the server and removes its JetStream store. */
  async dispose(): Promise<void> {
    await this.stop();
    if (this.storeDir) rmSync(this.storeDir, { recursive: true, force: true });
  }

  private async launch(): Promise<void> {
    const args = ['-a', '127.0.0.1', '-p', String(this.port)];
    if (this.storeDir) args.push('-js', '-sd', this.storeDir);
    const child = spawn('nats-server', args, { stdio: 'ignore' });
    this.child = child;
    const failed = new Promise<never>((_, reject) => {
      child.once('error', (err) =>
        reject(new Error(`cannot start nats-server (is it installed?): ${err.message}`)),
      );
      child.once('exit', (code) =>
        reject(new Error(`nats-server exited with ${code} before accepting connections`)),
      );
    });
    await Promise.race([waitForPort(this.port, 10_000), failed]);
  }
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = netConnect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nats-server did not accept connections on port ${port} within ${timeoutMs} ms`);
}
