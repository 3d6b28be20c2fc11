import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchBus } from './bus.js';
import { measureConcurrent } from './phase-concurrent.js';
import { measureReady } from './phase-ready.js';
import { measureStarted } from './phase-started.js';
import { measureStartup } from './phase-startup.js';
import { cpuSecondsOf, machineInfo, memoryOf } from './proc.js';
import { goalsOf, renderReadmeSection, renderResultsMarkdown, type BenchResults } from './report.js';
import { BenchSandbox } from './sandbox.js';
import { SERVICE_NODE_FLAGS } from '../service/node-flags.js';
import { ServiceProcess } from '../service/sandbox/service-process.js';

/** The repository root (this file runs from dist/bench/). */
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OUT = join(REPO, 'bench');

const SETTINGS = {
  // 600 triggers: with 200, the p99 was the second-worst sample, and one collision with a GC or
  // another delivery's work on this 2-core machine moved it by 2-3 ms from run to run.
  started: { triggers: 600, perSecond: 20, objects: 20, warmup: 20 },
  ready: { samplesPerTool: 40, staggerMs: 250 },
  concurrent: { flux: 500, argocd: 500, fluxNamespaces: 5, timeoutMs: 120_000 },
  /** Start-ups measured per variant (bundle, unbundled), alternating; medians reported. */
  startups: 3,
  /** How long a simulated Flux reconcile takes (the concurrent phase) and an Argo CD state-machine step. */
  fluxDelayMs: 50,
  argoStepMs: 25,
};
/** The whole run is abandoned after this. */
const HARD_LIMIT_MS = 6 * 60_000;

async function main(): Promise<number> {
  const began = Date.now();
  const limit = setTimeout(() => {
    process.stderr.write(`bench: still running after ${HARD_LIMIT_MS / 1000} s, giving up\n`);
    process.exit(2);
  }, HARD_LIMIT_MS);
  const sandbox = new BenchSandbox();
  let service: ServiceProcess | undefined;
  let bus: BenchBus | undefined;
  try {
    await sandbox.start({ fluxDelayMs: SETTINGS.fluxDelayMs, argoStepMs: SETTINGS.argoStepMs });
    const { env, healthPort } = await sandbox.serviceEnv();
    // Diagnosis only: BENCH_CPU_PROF=<dir> profiles the service, BENCH_NODE_ARGS adds node flags
    // (`--no-optimize-for-size` measures with V8's default heap settings).
    const profileDir = process.env.BENCH_CPU_PROF;
    if (profileDir) mkdirSync(profileDir, { recursive: true });
    const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
    log(`0/3 start-up: ${SETTINGS.startups} starts each of the bundle and the unbundled CLI, alternating`);
    const startup = await measureStartup(env, healthPort, nodeArgs, SETTINGS.startups);
    for (const [name, f] of Object.entries({ bundle: startup.bundle, unbundled: startup.unbundled })) {
      log(
        `    ${name}: /health 200 after ${f.healthMs.toFixed(0)} ms (${f.healthCpuSeconds.toFixed(2)} s CPU), ready after ${f.readyMs.toFixed(0)} ms, idle RSS ${f.idleRssMB.toFixed(1)} MB, CPU ${f.cpuSeconds.toFixed(2)} s`,
      );
    }
    // The service under benchmark in its own process; the last lines of its output are kept to explain a
    // failure.
    service = new ServiceProcess({
      env,
      nodeArgs: profileDir ? [...nodeArgs, '--cpu-prof', `--cpu-prof-dir=${profileDir}`] : nodeArgs,
      keepLines: 500,
    });
    await service.ready(healthPort, 60_000);
    log(
      `service pid ${service.pid} ready (RSS ${memoryOf(service.pid).rssMB.toFixed(1)} MB); nats-server ${sandbox.nats.url}`,
    );
    bus = await BenchBus.connect(sandbox.nats.url);

    log(`1/3 triggered→started: ${SETTINGS.started.triggers} triggers at ${SETTINGS.started.perSecond}/s`);
    const started = await measureStarted(bus, sandbox, SETTINGS.started);
    log(
      `    started p50 ${started.started.p50} ms p99 ${started.started.p99} ms; floor p50 ${started.floor.p50} ms p99 ${started.floor.p99} ms`,
    );

    log(
      `2/3 ready→finished: ${SETTINGS.ready.samplesPerTool} Flux + ${SETTINGS.ready.samplesPerTool} Argo CD samples, with a 2 s poll loop beside each`,
    );
    const ready = await measureReady(bus, sandbox, SETTINGS.ready);
    log(
      `    Flux p50 ${ready.flux.readyToFinished.p50} ms p99 ${ready.flux.readyToFinished.p99} ms; Argo CD p50 ${ready.argocd.readyToFinished.p50} ms p99 ${ready.argocd.readyToFinished.p99} ms`,
    );
    for (const e of [...ready.flux.errors, ...ready.argocd.errors]) log(`    error: ${e}`);

    const { flux, argocd } = SETTINGS.concurrent;
    log(`3/3 ${flux + argocd} concurrent deliveries (${flux} Flux, ${argocd} Argo CD)`);
    const concurrent = await measureConcurrent(bus, sandbox, service.pid, SETTINGS.concurrent);
    log(
      `    ${concurrent.passed}/${concurrent.deliveries} passed in ${concurrent.wallSeconds} s; RSS peak ${concurrent.rssHighWaterMB} MB; CPU ${concurrent.cpuSeconds} s; ${concurrent.requestsPerDelivery} requests/delivery`,
    );
    for (const f of concurrent.failures) log(`    failure: ${f}`);
    log(`    service CPU over the whole run: ${cpuSecondsOf(service.pid).toFixed(2)} s`);

    const results: BenchResults = {
      date: new Date(began).toISOString(),
      machine: machineInfo(REPO),
      settings: {
        ...SETTINGS,
        serviceNodeArgs: [...SERVICE_NODE_FLAGS, ...nodeArgs],
        cpuProfile: Boolean(profileDir),
      },
      startup,
      started,
      ready,
      concurrent,
      goals: goalsOf(startup, started, ready, concurrent),
      durationSeconds: Math.round((Date.now() - began) / 1000),
    };
    writeFileSync(join(OUT, 'results.json'), JSON.stringify(results, null, 2) + '\n');
    writeFileSync(join(OUT, 'results.md'), renderResultsMarkdown(results));
    writeFileSync(join(OUT, 'README-table.md'), renderReadmeSection(results));
    process.stdout.write('\n' + renderResultsMarkdown(results).split('\n## Goals')[0] + '\n');
    for (const g of results.goals) log(`${g.pass ? 'PASS' : 'FAIL'}  ${g.goal}: ${g.measured}`);
    log(`wrote bench/results.json, bench/results.md, bench/README-table.md (${results.durationSeconds} s)`);
    return 0;
  } catch (err) {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
    if (service) process.stderr.write(`service output (tail):\n${service.output.slice(-4000)}\n`);
    return 1;
  } finally {
    await bus?.close();
    await service?.stop('SIGTERM', 10_000);
    await sandbox.stop();
    clearTimeout(limit);
  }
}

function log(line: string): void {
  process.stdout.write(`bench: ${line}\n`);
}

// Exit explicitly: a simulator's leftover timer must not keep the bench alive.
main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
