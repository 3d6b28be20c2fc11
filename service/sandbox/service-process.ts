import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { SERVICE_NODE_FLAGS } from '../node-flags.js';
import { packageRoot } from '../util/package-root.js';

export interface ServiceProcessOptions {
  /** The whole environment of the service (PATH and HOME are added). */
  env: Record<string, string>;
  /** Default: `serve`. */
  args?: string[];
  /** More flags for `node`, after SERVICE_NODE_FLAGS (e.g. `--cpu-prof`), for diagnosis. */
  nodeArgs?: string[];
  /** Every chunk of stdout/stderr as it arrives (e.g. to keep a log file). */
  onOutput?: (chunk: string) => void;
  /** Output lines kept in memory; default all. */
  keepLines?: number;
  /**
   * The CLI script to run; default the compiled CLI, dist/service/cli/main.js (where the image puts
   * its bundle). The benchmark and a test run the bundle itself (imageBin).
   */
  bin?: string;
}

/** The CLI as the image carries it: the bundle `npm run build` writes to dist/image/ (build/bundle.ts). */
export function imageBin(): string {
  return join(packageRoot(), 'dist', 'image', 'main.js');
}

function compiledCli(): string {
  return join(packageRoot(), 'dist', 'service', 'cli', 'main.js');
}

/**
 * The built service as a child process, started the way the image starts it:
 * `node --optimize-for-size dist/service/cli/main.js serve` configured by environment variables only. Used by
 * the demo, the end-to-end tests and the benchmark.
 */
export class ServiceProcess {
  readonly lines: string[] = [];
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;

  constructor(private readonly options: ServiceProcessOptions) {
    this.child = spawn(
      process.execPath,
      [
        ...SERVICE_NODE_FLAGS,
        ...(options.nodeArgs ?? []),
        options.bin ?? compiledCli(),
        ...(options.args ?? ['serve']),
      ],
      {
        env: { ...baseEnv(), ...options.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        options.onOutput?.(chunk);
        const parts = (rest + chunk).split('\n');
        rest = parts.pop() ?? '';
        this.keep(parts.filter(Boolean));
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

  /** Waits until GET /ready answers 200 on the health port (registered and subscribed). */
  async ready(healthPort: number, timeoutMs = 20_000): Promise<void> {
    await waitForReady(healthPort, timeoutMs, () => {
      if (this.child.exitCode !== null)
        throw new Error(`the service exited with ${this.child.exitCode}:\n${this.output}`);
    }).catch((err: Error) => {
      throw err.message.includes(this.output) ? err : new Error(`${err.message}:\n${this.output}`);
    });
  }

  exitCode(): Promise<number | null> {
    return this.exited;
  }

  /**
   * Sends `signal` (default SIGTERM); after `killAfterMs`, if given, SIGKILL. Resolves with the exit code.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', killAfterMs?: number): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    this.child.kill(signal);
    const timer =
      killAfterMs === undefined ? undefined : setTimeout(() => this.child.kill('SIGKILL'), killAfterMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  private keep(lines: string[]): void {
    this.lines.push(...lines);
    const limit = this.options.keepLines;
    if (limit !== undefined && this.lines.length > limit) this.lines.splice(0, this.lines.length - limit);
  }
}

/** Polls GET /ready until 200; `check` may throw to stop early (e.g. the process died). */
export async function waitForReady(
  healthPort: number,
  timeoutMs = 20_000,
  check: () => void = () => {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    check();
    const ok = await fetch(`http://127.0.0.1:${healthPort}/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the service was not ready within ${timeoutMs} ms`);
}

/**
 * What a child process inherits besides the environment it is given: PATH and HOME, and the
 * coverage directory when the parent is measured (c8), so the service's own code is measured too.
 */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };
  if (process.env.NODE_V8_COVERAGE) env.NODE_V8_COVERAGE = process.env.NODE_V8_COVERAGE;
  return env;
}
