import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from './eventually.js';
import { repoRoot } from './paths.js';

/** Every line any service process wrote during the test run, for the secret scan at the end. */
export const SERVICE_LOG_FILE = join(repoRoot, 'dist', 'test-service-output.log');

export interface ServiceProcessOptions {
  env: Record<string, string>;
  /** Default: serve. */
  args?: string[];
}

/**
 * The built service started the way an operator starts it: `node dist/service/cli/main.js serve`
 * with environment variables only. Collects its output (JSON log lines) for assertions.
 */
export class ServiceProcess {
  readonly lines: string[] = [];
  private child: ChildProcess;
  private exited: Promise<number | null>;

  constructor(options: ServiceProcessOptions) {
    const bin = join(repoRoot, 'dist', 'service', 'cli', 'main.js');
    this.child = spawn(process.execPath, [bin, ...(options.args ?? ['serve'])], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        appendFileSync(SERVICE_LOG_FILE, chunk);
        const parts = (rest + chunk).split('\n');
        rest = parts.pop() ?? '';
        this.lines.push(...parts.filter(Boolean));
      });
    }
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get output(): string {
    return this.lines.join('\n');
  }

  /** Parsed JSON log lines (non-JSON lines are skipped). */
  logs(): Record<string, unknown>[] {
    return this.lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  /** Waits until GET /ready answers 200 on the health port. */
  async ready(healthPort: number, timeoutMs = 15_000): Promise<void> {
    await eventually(async () => {
      if (this.child.exitCode !== null) throw new Error(`the service exited with ${this.child.exitCode}:\n${this.output}`);
      const res = await fetch(`http://127.0.0.1:${healthPort}/ready`);
      if (res.status !== 200) throw new Error(`/ready answered ${res.status}`);
    }, timeoutMs, 50);
  }

  /** Exit code once the process ended. */
  exitCode(): Promise<number | null> {
    return this.exited;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}
