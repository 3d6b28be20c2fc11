import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { sleep } from './stats.js';

export interface BenchServiceOptions {
  repo: string;
  env: Record<string, string>;
  /** Directory for a V8 CPU profile of the service (`--cpu-prof`), written when it exits. */
  cpuProfileDir?: string;
  /** More `node` flags for diagnosis (e.g. `--max-old-space-size=96`). */
  nodeArgs?: string[];
}

/** `node dist/service/cli/main.js serve` as its own process, configured by env vars only. */
export class BenchService {
  private readonly child: ChildProcess;
  private output = '';

  constructor(options: BenchServiceOptions) {
    const args = [...(options.nodeArgs ?? [])];
    if (options.cpuProfileDir) args.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`);
    args.push(join(options.repo, 'dist', 'service', 'cli', 'main.js'), 'serve');
    this.child = spawn(process.execPath, args, {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      stream.setEncoding('utf8');
      // Keep the last 64 KiB only: enough to explain a failure.
      stream.on('data', (chunk: string) => (this.output = (this.output + chunk).slice(-65_536)));
    }
  }

  get pid(): number {
    return this.child.pid!;
  }

  get log(): string {
    return this.output;
  }

  /** Waits for GET /ready to answer 200 (registered and subscribed). */
  async ready(healthPort: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`the service exited with ${this.child.exitCode}:\n${this.output}`);
      const ok = await fetch(`http://127.0.0.1:${healthPort}/ready`).then((r) => r.status === 200, () => false);
      if (ok) return;
      await sleep(50);
    }
    throw new Error(`the service was not ready within ${timeoutMs} ms:\n${this.output}`);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}
