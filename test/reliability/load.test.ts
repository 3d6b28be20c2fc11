import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import {
  FluxControllerSimulator,
  seedGitRepository,
  seedKustomization,
} from '../../service/sandbox/flux/index.js';
import type { KubeObject } from '../../service/sandbox/kube/object-store.js';
import { NatsEventStream } from '../../service/events/nats-event-stream.js';
import { E2eSandbox, type RunningService } from '../support/e2e-harness.js';
import { eventually } from '../support/eventually.js';

const TARGETS = `targets:
  - match: {project: load}
    flux: {kind: Kustomization, name: "\${service}", namespace: flux-system}
    timeout: 2m
`;

/** Peak resident memory of a process, from /proc (Linux). */
function peakRssMb(pid: number): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

/** Reconciling=True: the Flux simulator has begun a reconcile of the object and holds it. */
function isReconciling(object: KubeObject | undefined): boolean {
  const conditions = (object?.status as { conditions?: { type: string; status: string }[] } | undefined)
    ?.conditions;
  return (conditions ?? []).some((c) => c.type === 'Reconciling' && c.status === 'True');
}

describe('load: bursts and many concurrent deliveries', function () {
  this.timeout(120_000);
  let sandbox: E2eSandbox;
  let service: RunningService;
  let flux: FluxControllerSimulator;
  let stream: NatsEventStream;
  /** Answers by trigger id, counted from our own subscription (cheap to read under load). */
  const answers = {
    started: new Map<string, number>(),
    finished: new Map<string, Record<string, unknown>[]>(),
  };
  const count = (ids: string[], kind: 'started' | 'finished') =>
    ids.filter((id) => answers[kind].has(id)).length;

  before(async () => {
    sandbox = await E2eSandbox.start({ fluxDelayMs: 20 });
    sandbox.writeTargets(TARGETS);
    seedGitRepository(sandbox.kube, { name: 'repo', namespace: 'flux-system' });
    for (let i = 0; i < 1000; i++)
      seedKustomization(sandbox.kube, {
        name: `svc-${i}`,
        namespace: 'flux-system',
        wait: true,
        sourceRef: { kind: 'GitRepository', name: 'repo' },
      });
    flux = sandbox.flux;
    service = await sandbox.startService({ LOG_LEVEL: 'warn', NATS_JETSTREAM: 'false' });
    stream = await NatsEventStream.connect({ servers: sandbox.natsUrl, subject: 'sh.keptn.event.deliver.*' });
    void (async () => {
      for await (const event of stream.events()) {
        const id = event.triggeredid ?? '';
        if (event.type.endsWith('.started')) answers.started.set(id, (answers.started.get(id) ?? 0) + 1);
        if (event.type.endsWith('.finished'))
          answers.finished.set(id, [...(answers.finished.get(id) ?? []), event.data]);
      }
    })();
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(service.proc.lines.slice(-20).join('\n'));
  });

  after(async () => {
    await stream?.close();
    await sandbox?.stop();
  });

  it('answers every trigger of a burst of 500 in one second with one started and one finished', async () => {
    const triggers = Array.from({ length: 500 }, (_, i) =>
      sandbox.taskTrigger({ project: 'load', stage: 'burst', service: `svc-${i}` }),
    );
    const began = Date.now();
    await sandbox.publish(...triggers);
    expect(Date.now() - began, 'published within a second').to.be.lessThan(1000);
    const ids = triggers.map((t) => t.id);
    await eventually(() => expect(count(ids, 'finished')).to.equal(500), 60_000, 250);
    for (const id of ids) {
      expect(answers.started.get(id), 'one .started').to.equal(1);
      expect(answers.finished.get(id), 'one .finished').to.have.length(1);
      expect(answers.finished.get(id)![0]).to.include({ status: 'succeeded', result: 'pass' });
    }
  });

  it('holds 1,000 concurrent deliveries with every .started sent and memory bounded, then finishes them all', async () => {
    for (let i = 0; i < 1000; i++)
      flux.script('Kustomization', 'flux-system', `svc-${i}`, { type: 'success', hold: true });
    const triggers = Array.from({ length: 1000 }, (_, i) =>
      sandbox.taskTrigger({ project: 'load', stage: 'concurrent', service: `svc-${i}` }),
    );
    for (const trigger of triggers) await sandbox.publish(trigger);
    const ids = triggers.map((t) => t.id);
    await eventually(() => expect(count(ids, 'started')).to.equal(1000), 60_000, 250);
    // All 1,000 are being followed at once: none may have finished while held.
    expect(count(ids, 'finished')).to.equal(0);
    const marked = () =>
      Array.from({ length: 1000 }, (_, i) =>
        sandbox.kube.get('Kustomization', 'flux-system', `svc-${i}`),
      ).filter((o) => o?.metadata?.annotations?.['gitops.keptn.sh/delivery']).length;
    await eventually(() => expect(marked()).to.equal(1000), 60_000, 500);
    // markReady ends only the reconciles the controller has begun: wait until all have.
    const reconciling = () =>
      Array.from({ length: 1000 }, (_, i) =>
        sandbox.kube.get('Kustomization', 'flux-system', `svc-${i}`),
      ).filter(isReconciling).length;
    await eventually(() => expect(reconciling()).to.equal(1000), 60_000, 250);
    for (let i = 0; i < 1000; i++) flux.markReady(`svc-${i}`);
    await eventually(() => expect(count(ids, 'finished')).to.equal(1000), 60_000, 250);
    expect(
      ids.every((id) => answers.started.get(id) === 1 && answers.finished.get(id)!.length === 1),
    ).to.equal(true);
    // A leak guard with room for a noisy machine: the service idles at ~70 MB and the benchmark
    // measures ~110 MB at 1,000 concurrent deliveries (bench/results.md; the goal is 150 MB).
    expect(peakRssMb(service.proc.pid), 'peak RSS of the service (MB)').to.be.lessThan(250);
  });
});
