import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface StartOptions {
  /** A short name; also the log file's name (`<logDir>/<name>.log`). */
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
}

/** A process a real system runs as, with its output in a log file. */
export interface RunningProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves when the process has exited (with its exit code, or null after a signal). */
  readonly exited: Promise<number | null>;
  exitCode(): number | null;
}

/** Every group with processes still running, for the exit and signal hooks. */
const groups = new Set<ProcessGroup>();

function killEverything(): void {
  for (const group of groups) group.killNow();
}

// Node ends on SIGINT, SIGTERM or SIGHUP without running 'exit' listeners: a run interrupted while
// the cluster started (Ctrl-C, a CI timeout) left etcd, kube-apiserver and the controllers running.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    killEverything();
    process.kill(process.pid, sig);
  });
}
process.on('exit', killEverything);

/**
 * Every process the real tier starts: each writes to its own log file, and each is ended by its pid
 * (SIGTERM, then SIGKILL after a grace period). If the test runner exits or is interrupted by a
 * signal, whatever is left is killed so no control plane outlives the run.
 */
export class ProcessGroup {
  private readonly running = new Map<number, { proc: RunningProcess; child: ChildProcess }>();
  private readonly started: RunningProcess[] = [];
  constructor(readonly logDir: string) {
    groups.add(this);
  }

  /** Kills every process still running at once (SIGKILL), without waiting. */
  killNow(): void {
    for (const pid of this.running.keys()) signal(pid, 'SIGKILL');
  }

  start(options: StartOptions): RunningProcess {
    const logFile = join(this.logDir, `${options.name}.log`);
    const fd = openSync(logFile, 'a');
    const child = spawn(options.command, options.args, {
      cwd: options.cwd ?? this.logDir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...options.env },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    if (child.pid === undefined) throw new Error(`${options.command} could not be started`);
    let code: number | null = null;
    let hasExited = false;
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (exitCode) => {
        code = exitCode;
        hasExited = true;
        this.running.delete(child.pid!);
        resolve(exitCode);
      });
      child.once('error', () => {
        hasExited = true;
        this.running.delete(child.pid!);
        resolve(null);
      });
    });
    const proc: RunningProcess = {
      name: options.name,
      pid: child.pid,
      logFile,
      exited,
      exitCode: () => (hasExited ? (code ?? -1) : null),
    };
    this.running.set(child.pid, { proc, child });
    this.started.push(proc);
    return proc;
  }

  /** Ends one process by its pid and waits for it. */
  async stop(proc: RunningProcess, graceMs = 5000): Promise<void> {
    if (!this.running.has(proc.pid)) return;
    signal(proc.pid, 'SIGTERM');
    const timer = setTimeout(() => signal(proc.pid, 'SIGKILL'), graceMs);
    await proc.exited;
    clearTimeout(timer);
  }

  /** Ends every process still running, the most recently started first. */
  async stopAll(): Promise<void> {
    for (const { proc } of [...this.running.values()].reverse()) await this.stop(proc);
    groups.delete(this);
  }

  /** The last lines of each process's log, for a failure report. */
  tails(lines = 30): string {
    const files = new Set(this.started.map((proc) => proc.logFile));
    return [...files]
      .filter((file) => existsSync(file))
      .map(
        (file) =>
          `--- ${file} (last ${lines} lines)\n${readFileSync(file, 'utf8')
            .split('\n')
            .slice(-lines - 1)
            .join('\n')}`,
      )
      .join('\n');
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}
