import { ServiceProcess } from '../service/sandbox/service-process.js';

export interface BenchServiceOptions {
  env: Record<string, string>;
  /** Directory for a V8 CPU profile of the service (`--cpu-prof`), written when it exits. */
  cpuProfileDir?: string;
  /** More `node` flags for diagnosis (e.g. `--max-old-space-size=96`). */
  nodeArgs?: string[];
}

/** The service under benchmark: its own process, the last lines of its output kept to explain a failure. */
export function startBenchService(options: BenchServiceOptions): ServiceProcess {
  const nodeArgs = [...(options.nodeArgs ?? [])];
  if (options.cpuProfileDir) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`);
  return new ServiceProcess({ env: options.env, nodeArgs, keepLines: 500 });
}
