import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';

/** The real service as a child process, started like an operator starts it: `serve` and env vars. */
export class ServiceChild {
  private readonly child: ChildProcess;
  private output = '';

  constructor(env: Record<string, string>) {
    const bin = join(packageRoot(), 'dist', 'service', 'cli', 'main.js');
    this.child = spawn(process.execPath, [bin, 'serve'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (c: Buffer) => (this.output += c.toString()));
    this.child.stderr!.on('data', (c: Buffer) => (this.output += c.toString()));
  }

  async ready(healthPort: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`the service exited with ${this.child.exitCode}:\n${this.output}`);
      const ok = await fetch(`http://127.0.0.1:${healthPort}/ready`).then((r) => r.ok, () => false);
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the service did not become ready within ${timeoutMs} ms:\n${this.output}`);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }
}
