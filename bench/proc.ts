import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { arch, cpus, loadavg, platform, release, totalmem } from 'node:os';

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks (100 on every common build). */
const CLK_TCK = 100;

/** Resident set size now and its high-water mark, in MB (10^6 bytes), from /proc/<pid>/status. */
export function memoryOf(pid: number): { rssMB: number; hwmMB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  // The kernel's "kB" here are KiB.
  const mb = (field: string) =>
    (Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024) / 1e6;
  return { rssMB: mb('VmRSS'), hwmMB: mb('VmHWM') };
}

/** User + system CPU seconds the process has used, from /proc/<pid>/stat. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at field 3; utime is 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Samples the resident set of `pid` every `intervalMs` and keeps the maximum, until stopped. */
export class RssSampler {
  maxMB = 0;
  samples = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    intervalMs = 100,
  ) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.sample();
  }

  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.maxMB;
  }

  private sample(): void {
    try {
      this.maxMB = Math.max(this.maxMB, memoryOf(this.pid).rssMB);
      this.samples++;
    } catch {
      // The process is gone; keep what was seen.
    }
  }
}

export interface MachineInfo {
  cpuModel: string;
  cpus: number;
  memoryGiB: number;
  platform: string;
  kernel: string;
  arch: string;
  node: string;
  natsServer: string;
  loadAverage1m: number;
  gitCommit: string;
  /** Uncommitted changes outside bench/ that the measured build contained (others work in this tree). */
  uncommitted: string[];
}

export function machineInfo(repo: string): MachineInfo {
  const run = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { cwd: repo, encoding: 'utf8', timeout: 5000 }).trim();
    } catch {
      return 'unknown';
    }
  };
  const list = cpus();
  return {
    cpuModel: list[0]?.model ?? 'unknown',
    cpus: list.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    platform: platform(),
    kernel: release(),
    arch: arch(),
    node: process.version,
    natsServer: run('nats-server', ['--version']),
    loadAverage1m: loadavg()[0] ?? 0,
    gitCommit: run('git', ['rev-parse', '--short', 'HEAD']),
    uncommitted: run('git', ['status', '--porcelain', '--untracked-files=all', '--', '.', ':!bench'])
      .split('\n')
      .filter(Boolean),
  };
}
