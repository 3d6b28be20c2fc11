import { join } from 'node:path';
import { imageBin, ServiceProcess } from '../service/sandbox/service-process.js';
import { packageRoot } from '../service/util/package-root.js';
import { cpuSecondsOf, memoryOf } from './proc.js';
import { summarize } from './stats.js';

export interface StartupFigures {
  /** Spawn → first GET /health answered 200. */
  healthMs: number;
  /**
   * CPU seconds the process had used when /health first answered 200: the start-up time on an otherwise idle
   * core.
   */
  healthCpuSeconds: number;
  /** Spawn → GET /ready 200 (registered with the control plane, subscribed). */
  readyMs: number;
  /** Resident set 2 s after ready, nothing to do. */
  idleRssMB: number;
  /** CPU seconds the process used from spawn to 2 s after ready. */
  cpuSeconds: number;
}

export interface StartupResult {
  starts: number;
  /** The bundle the image runs (dist/image/main.js). */
  bundle: StartupFigures;
  /**
   * The compiled, unbundled CLI (dist/service/cli/main.js with node_modules), for comparison in the same run.
   */
  unbundled: StartupFigures;
}

const IDLE_SETTLE_MS = 2000;

/**
 * Starts the service `starts` times as the image does and as the unbundled CLI, alternating, and keeps the
 * medians.
 */
export async function measureStartup(
  env: Record<string, string>,
  healthPort: number,
  nodeArgs: string[],
  starts: number,
): Promise<StartupResult> {
  const variants = {
    bundle: imageBin(),
    unbundled: join(packageRoot(), 'dist', 'service', 'cli', 'main.js'),
  };
  const runs: Record<keyof typeof variants, StartupFigures[]> = { bundle: [], unbundled: [] };
  for (let i = 0; i < starts; i++) {
    for (const [name, bin] of Object.entries(variants) as [keyof typeof variants, string][])
      runs[name].push(await startOnce(bin, env, healthPort, nodeArgs));
  }
  const median = (values: number[]) => summarize(values).p50;
  const medians = (figures: StartupFigures[]): StartupFigures => ({
    healthMs: median(figures.map((f) => f.healthMs)),
    healthCpuSeconds: median(figures.map((f) => f.healthCpuSeconds)),
    readyMs: median(figures.map((f) => f.readyMs)),
    idleRssMB: median(figures.map((f) => f.idleRssMB)),
    cpuSeconds: median(figures.map((f) => f.cpuSeconds)),
  });
  return { starts, bundle: medians(runs.bundle), unbundled: medians(runs.unbundled) };
}

async function startOnce(
  bin: string,
  env: Record<string, string>,
  healthPort: number,
  nodeArgs: string[],
): Promise<StartupFigures> {
  const began = performance.now();
  const service = new ServiceProcess({ env, nodeArgs, bin, keepLines: 100 });
  try {
    const healthMs = await firstOk(`http://127.0.0.1:${healthPort}/health`, began, service);
    const healthCpuSeconds = cpuSecondsOf(service.pid);
    await service.ready(healthPort, 60_000);
    const readyMs = performance.now() - began;
    await new Promise((r) => setTimeout(r, IDLE_SETTLE_MS));
    return {
      healthMs,
      healthCpuSeconds,
      readyMs,
      idleRssMB: memoryOf(service.pid).rssMB,
      cpuSeconds: cpuSecondsOf(service.pid),
    };
  } finally {
    await service.stop('SIGTERM', 10_000);
  }
}

/** Milliseconds from `began` until `url` answers 200, polled every 10 ms. */
async function firstOk(url: string, began: number, service: ServiceProcess): Promise<number> {
  for (;;) {
    if (
      await fetch(url).then(
        (r) => r.status === 200,
        () => false,
      )
    )
      return performance.now() - began;
    if (performance.now() - began > 60_000) throw new Error(`${url} not 200 within 60 s:\n${service.output}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
