import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';

export interface LocalProcessOptions {
  /** Name for messages and the log file. */
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  /** stdout and stderr go here. */
  logFile: string;
  cwd?: string;
}

/** A component run as a plain local process, its output in a log file; stopped by its own pid. */
export class LocalProcess {
  readonly name: string;
  private readonly child: ChildProcess;
  private readonly log: WriteStream;
  private readonly exited: Promise<void>;

  constructor(private readonly options: LocalProcessOptions) {
    this.name = options.name;
    this.log = createWriteStream(options.logFile, { flags: 'a' });
    this.child = spawn(options.command, options.args, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.pipe(this.log, { end: false });
    this.child.stderr!.pipe(this.log, { end: false });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Throws with the end of the log when the process has exited. */
  assertRunning(): void {
    if (!this.running) throw new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}); end of ${this.options.logFile}:\n${this.tail()}`);
  }

  tail(lines = 40): string {
    try {
      return readFileSync(this.options.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.running) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    await new Promise<void>((resolve) => this.log.end(resolve));
  }
}
