import type { ConcurrentResult } from './phase-concurrent.js';
import type { ReadyResult } from './phase-ready.js';
import type { StartedResult } from './phase-started.js';
import type { StartupResult } from './phase-startup.js';
import type { MachineInfo } from './proc.js';

export interface Goal {
  goal: string;
  measured: string;
  pass: boolean;
}

export interface BenchResults {
  date: string;
  machine: MachineInfo;
  settings: Record<string, unknown>;
  startup: StartupResult;
  started: StartedResult;
  ready: ReadyResult;
  concurrent: ConcurrentResult;
  goals: Goal[];
  /** How long the whole bench took. */
  durationSeconds: number;
}

/** Requests per delivery under load may not exceed the light-load figure by more than 5 %. */
const CONSTANT_TOLERANCE = 1.05;

export function goalsOf(
  startup: StartupResult,
  started: StartedResult,
  ready: ReadyResult,
  c: ConcurrentResult,
): Goal[] {
  const fluxConstant = c.fluxRequestsPerFluxDelivery <= started.fluxRequestsPerDelivery * CONSTANT_TOLERANCE;
  const argoConstant =
    c.argocdRequestsPerArgoDelivery <= ready.argocd.requestsPerDelivery * CONSTANT_TOLERANCE;
  const stateConstant = c.stateRequestsPerDelivery <= started.stateRequestsPerDelivery * CONSTANT_TOLERANCE;
  const allDone = c.passed === c.deliveries;
  return [
    {
      goal: 'triggered→started p99 < 5 ms',
      measured: `${fmt(started.started.p99)} ms`,
      pass: started.started.p99 < 5 && started.missingStarted === 0,
    },
    {
      goal: 'ready→finished p99 < 50 ms (Flux)',
      measured: `${fmt(ready.flux.readyToFinished.p99)} ms`,
      pass: ready.flux.readyToFinished.p99 < 50 && ready.flux.errors.length === 0,
    },
    {
      goal: 'ready→finished p99 < 50 ms (Argo CD)',
      measured: `${fmt(ready.argocd.readyToFinished.p99)} ms`,
      pass: ready.argocd.readyToFinished.p99 < 50 && ready.argocd.errors.length === 0,
    },
    {
      goal: `${c.deliveries} concurrent deliveries, peak RSS < 150 MB`,
      measured: `${fmt(c.rssHighWaterMB, 1)} MB (${c.passed}/${c.deliveries} passed)`,
      pass: c.rssHighWaterMB < 150 && allDone,
    },
    {
      goal: 'constant API requests per delivery (under load ≤ light load +5 %)',
      measured: `Flux ${fmt(c.fluxRequestsPerFluxDelivery, 2)} vs ${fmt(started.fluxRequestsPerDelivery, 2)}; Argo CD ${fmt(c.argocdRequestsPerArgoDelivery, 2)} vs ${fmt(ready.argocd.requestsPerDelivery, 2)}; state ${fmt(c.stateRequestsPerDelivery, 2)} vs ${fmt(started.stateRequestsPerDelivery, 2)}`,
      pass: fluxConstant && argoConstant && stateConstant && allDone,
    },
    {
      goal: 'idle RSS ≤ 128 MB (the bundle the image runs)',
      measured: `${fmt(startup.bundle.idleRssMB, 1)} MB`,
      pass: startup.bundle.idleRssMB <= 128,
    },
    {
      goal: '/health 200 within 2 s of start (the bundle)',
      measured: `${fmt(startup.bundle.healthMs / 1000, 2)} s`,
      pass: startup.bundle.healthMs <= 2000,
    },
  ];
}

/** The table for results.md and the README's benchmark section. */
function renderTable(r: BenchResults): string {
  const s = r.started;
  const f = r.ready.flux;
  const a = r.ready.argocd;
  const c = r.concurrent;
  const goal = (i: number) => (r.goals[i]!.pass ? 'pass' : '**fail**');
  const poll = `${r.ready.pollIntervalMs / 1000} s status polling`;
  const rows = [
    ['figure', 'p50', 'p99', 'baseline (p50 / p99)', 'ratio p50 / p99', 'goal', 'met'],
    [
      `triggered→started, ${s.triggers} triggers at ${s.perSecond}/s`,
      ms(s.started.p50),
      ms(s.started.p99),
      `NATS request/reply ${ms(s.floor.p50)} / ${ms(s.floor.p99)}`,
      `${fmt(s.ratioP50, 2)}× / ${fmt(s.ratioP99, 2)}×`,
      'p99 < 5 ms',
      goal(0),
    ],
    [
      'delivery record create, timed alone (each `.started` waits for one)',
      ms(s.recordWrite.p50),
      ms(s.recordWrite.p99),
      '',
      '',
      '',
      '',
    ],
    [
      `ready→finished, Flux Kustomization (${f.samples})`,
      ms(f.readyToFinished.p50),
      ms(f.readyToFinished.p99),
      `${poll} ${ms(f.polling.p50)} / ${ms(f.polling.p99)}`,
      `${fmt(f.ratioP50, 4)} / ${fmt(f.ratioP99, 4)}`,
      'p99 < 50 ms',
      goal(1),
    ],
    [
      `ready→finished, Argo CD Application (${a.samples})`,
      ms(a.readyToFinished.p50),
      ms(a.readyToFinished.p99),
      `${poll} ${ms(a.polling.p50)} / ${ms(a.polling.p99)}`,
      `${fmt(a.ratioP50, 4)} / ${fmt(a.ratioP99, 4)}`,
      'p99 < 50 ms',
      goal(2),
    ],
  ];
  const table = rows.map((row) => `| ${row.join(' | ')} |`);
  table.splice(1, 0, `|${rows[0]!.map(() => '---').join('|')}|`);

  const load = [
    [
      'concurrent deliveries',
      `${c.deliveries} (${c.flux} Flux Kustomizations in ${c.fluxNamespaces} namespaces, ${c.argocd} Argo CD Applications), one burst`,
      '',
    ],
    ['outcome', `${c.passed} pass, ${c.failed} fail, ${c.unfinished} without .finished`, ''],
    ['wall time, first trigger → last .finished', `${fmt(c.wallSeconds, 2)} s`, ''],
    [
      'triggered→started during the burst',
      `p50 ${ms(c.startedUnderBurst.p50)}, p99 ${ms(c.startedUnderBurst.p99)}`,
      '',
    ],
    [
      'service peak RSS (VmHWM)',
      `${fmt(c.rssHighWaterMB, 1)} MB (idle before the burst: ${fmt(c.rssBeforeMB, 1)} MB)`,
      `< 150 MB: ${goal(3)}`,
    ],
    [
      'service CPU time for the burst',
      `${fmt(c.cpuSeconds, 2)} s (${fmt((c.cpuSeconds * 1000) / c.deliveries, 2)} ms per delivery)`,
      '',
    ],
    [
      'API requests per delivery',
      `${fmt(c.requestsPerDelivery, 2)} in all: ${fmt(c.fluxRequestsPerFluxDelivery, 2)} on the Kustomization per Flux delivery, ${fmt(c.argocdRequestsPerArgoDelivery, 2)} Argo CD API per Argo CD delivery, ${fmt(c.stateRequestsPerDelivery, 2)} on the service's ConfigMaps/Leases per delivery`,
      '',
    ],
    [
      '… the same at light load, same run',
      `${fmt(r.started.fluxRequestsPerDelivery, 2)} Flux, ${fmt(r.ready.argocd.requestsPerDelivery, 2)} Argo CD, ${fmt(r.started.stateRequestsPerDelivery, 2)} state`,
      `constant: ${goal(4)}`,
    ],
  ];
  const loadTable = [
    '| 1,000 concurrent deliveries | measured | goal |',
    '|---|---|---|',
    ...load.map((row) => `| ${row.join(' | ')} |`),
  ];
  const b = r.startup.bundle;
  const u = r.startup.unbundled;
  const startupTable = [
    `| start-up, median of ${r.startup.starts} | bundle (the image) | unbundled CLI + node_modules | goal |`,
    '|---|---|---|---|',
    `| spawn → /health 200, wall clock | ${fmt(b.healthMs / 1000, 2)} s | ${fmt(u.healthMs / 1000, 2)} s | ≤ 2 s: ${goal(6)} |`,
    `| CPU time used by then (the wall time on an idle core) | ${fmt(b.healthCpuSeconds, 2)} s | ${fmt(u.healthCpuSeconds, 2)} s |  |`,
    `| spawn → /ready 200 (registered, subscribed) | ${fmt(b.readyMs / 1000, 2)} s | ${fmt(u.readyMs / 1000, 2)} s |  |`,
    `| idle RSS, 2 s after ready | ${fmt(b.idleRssMB, 1)} MB | ${fmt(u.idleRssMB, 1)} MB | ≤ 128 MB: ${goal(5)} |`,
    `| CPU time, spawn → 2 s after ready | ${fmt(b.cpuSeconds, 2)} s | ${fmt(u.cpuSeconds, 2)} s |  |`,
  ];
  const m = r.machine;
  return [
    ...startupTable,
    '',
    ...table,
    '',
    ...loadTable,
    '',
    `Measured ${r.date.slice(0, 10)} on ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}, ${m.natsServer}; commit ${m.gitCommit}${m.uncommitted.length ? ` plus ${m.uncommitted.length} uncommitted files of work in progress outside bench/ (listed in results.json)` : ''}. ` +
      `One run of \`npm run bench\`; the simulators and the measuring client share one process, the service runs in its own as \`node ${nodeArgsOf(r).join(' ')} dist/image/main.js serve\` (the bundle the image runs as dist/service/cli/main.js).`,
  ].join('\n');
}

export function renderResultsMarkdown(r: BenchResults): string {
  const goals = [
    '| goal | measured | met |',
    '|---|---|---|',
    ...r.goals.map((g) => `| ${g.goal} | ${g.measured} | ${g.pass ? 'pass' : '**fail**'} |`),
  ];
  return [
    '# keptn-gitops-service benchmark',
    '',
    `\`npm run bench\`, ${r.date}, ${r.durationSeconds} s. Raw figures: \`bench/results.json\`.`,
    '',
    renderTable(r),
    '',
    '## Goals',
    '',
    ...goals,
    '',
    '## How it is measured',
    '',
    ...METHOD,
    '',
  ].join('\n');
}

export function renderReadmeSection(r: BenchResults): string {
  return [
    '## Benchmark',
    '',
    '`npm run bench` starts a real `nats-server`, the sandbox simulators (Kubernetes API with Flux, Argo CD, the Keptn control plane) and the service as its own process, started as the image starts it (`node --optimize-for-size` and the bundle of `build/bundle.ts`, `dist/image/main.js`), measures, and writes `bench/results.json` and `bench/results.md`. It takes about a minute after the build and needs `nats-server` on the PATH.',
    '',
    renderTable(r),
    '',
    ...METHOD,
    '',
  ].join('\n');
}

const METHOD = [
  '- **start-up**: before the other phases, the service is started and stopped several times, alternately as the image runs it (the bundle) and as the compiled CLI with `node_modules` (for comparison within the same run, on a noisy machine); from the spawn, `/health` is polled every 10 ms until 200, then `/ready`; RSS and CPU time are read from `/proc` 2 s after ready. Medians.',
  '- **triggered→started**: the bench publishes `sh.keptn.event.deliver.triggered` (Flux targets) at a steady rate and stamps each `.started` on receipt with `process.hrtime`; the floor is a bare NATS request/reply through the same server from the same process, with a trigger-sized payload, interleaved with the triggers (half a tick apart) so both see the same noise. The ratio is started ÷ floor. The first 20 triggers are a warm-up and not counted.',
  "- **delivery record create**: before its `.started` the service creates the trigger's record (a ConfigMap, create-if-absent) and waits for the answer; the bench times the same call alone, a record-sized ConfigMap POST to the same simulated API server from its own process, half a tick after each trigger.",
  '- **ready→finished**: the simulator holds the reconcile (Flux: `hold`, released by `markReady`; Argo CD: a rollout that stays Progressing until `markHealthy`) for a random 0.3–2.3 s, then makes the object Ready/Healthy; the figure is the time from that call to the `.finished` on the bus. The baseline is a real poll loop run beside each sample: a GET of the same object at once and every 2 s (the interval `flux reconcile` waits with) from the start of the reconcile, until the status shows it done. Ratio: service ÷ polling.',
  "- **concurrent deliveries**: all triggers in one burst; wall time from the first publish to the last `.finished`; RSS is the service process's `VmHWM` from `/proc/<pid>/status` (also sampled every 100 ms); CPU is `utime + stime` from `/proc/<pid>/stat` over the burst; API requests are the Kubernetes simulator's request log plus the Argo CD simulator's request counter over the burst, divided by deliveries, compared with the same count at light load earlier in the run (poll-loop requests excluded).",
  "- **node flags**: the service runs with `--optimize-for-size` (service/node-flags.ts), as the image does; `BENCH_NODE_ARGS=--no-optimize-for-size npm run bench` measures it with V8's default heap settings instead.",
];

function nodeArgsOf(r: BenchResults): string[] {
  const args = r.settings.serviceNodeArgs;
  return Array.isArray(args) ? args.map(String) : [];
}

function ms(x: number): string {
  return `${fmt(x, 2)} ms`;
}

function fmt(x: number, digits = 2): string {
  return Number.isFinite(x) ? x.toFixed(digits) : 'n/a';
}
