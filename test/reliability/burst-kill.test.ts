import { expect } from 'chai';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { JetStreamSource } from '../../lib/index.js';
import { seedGitRepository, seedKustomization } from '../../service/sandbox/flux/index.js';
import { E2eSandbox, type RunningService } from '../support/e2e-harness.js';
import { eventually } from '../support/eventually.js';

const TARGETS = `targets:
  - match: {project: shop, stage: burst}
    flux: {kind: Kustomization, name: "\${service}", namespace: flux-system}
    timeout: 2m
`;
const TRIGGERS = 300;

/**
 * SIGKILL in the middle of a JetStream burst, then the pod restarts: triggers the killed replica
 * had not claimed are redelivered, the ones it had claimed are finished from their records by
 * its next run or by the other replica. None may be answered or deployed twice.
 */
describe('a replica SIGKILLed during a burst of 300 triggers on JetStream, then restarted', function () {
  this.timeout(180_000);
  let sandbox: E2eSandbox;
  let replicas: RunningService[] = [];

  afterEach(async function () {
    if (this.currentTest?.state === 'failed')
      for (const r of replicas) console.log(`--- ${r.proc.pid}\n${r.proc.lines.slice(-30).join('\n')}`);
    await sandbox?.stop();
  });

  it('answers every trigger with one .started and one .finished, and reconciles each Kustomization once', async () => {
    sandbox = await E2eSandbox.start({ jetstream: true, fluxDelayMs: 50 });
    sandbox.writeTargets(TARGETS);
    seedGitRepository(sandbox.kube, { name: 'repo', namespace: 'flux-system' });
    const names = Array.from({ length: TRIGGERS }, (_, i) => `svc-${i}`);
    for (const name of names)
      seedKustomization(sandbox.kube, {
        name,
        namespace: 'flux-system',
        wait: true,
        sourceRef: { kind: 'GitRepository', name: 'repo' },
      });
    // Every other delivery is held: the kill finds deliveries finished, being followed, not yet claimed.
    names.forEach(
      (name, i) =>
        i % 2 === 1 &&
        sandbox.flux.script('Kustomization', 'flux-system', name, { type: 'success', hold: true }),
    );
    const env = { NATS_JETSTREAM: 'true', REPLICA_LEASE_SECONDS: '3', LOG_LEVEL: 'warn' };
    replicas = [
      await sandbox.startService({ ...env, K8S_POD_NAME: 'replica-a' }),
      await sandbox.startService({ ...env, K8S_POD_NAME: 'replica-b' }),
    ];

    const triggers = names.map((service) =>
      sandbox.taskTrigger({ project: 'shop', stage: 'burst', service }),
    );
    const count = (kind: 'started' | 'finished') =>
      triggers.filter((t) => sandbox.answers(t)[kind].length > 0).length;
    await sandbox.publish(...triggers);
    await eventually(() => expect(count('finished')).to.be.at.least(20), 60_000, 50);
    await replicas[0]!.proc.stop('SIGKILL');
    expect(count('finished'), 'killed before the burst was done').to.be.lessThan(TRIGGERS);

    replicas.push(await sandbox.startService({ ...env, K8S_POD_NAME: 'replica-a' }));
    for (const name of names) sandbox.flux.script('Kustomization', 'flux-system', name, { type: 'success' });
    await eventually(
      () => {
        for (const name of names) sandbox.flux.markReady(name);
        expect(count('finished')).to.equal(TRIGGERS);
      },
      120_000,
      250,
    );

    // Nothing is left to come: every record is a tombstone and JetStream holds no trigger for redelivery.
    await eventually(
      async () => {
        const phases = (await sandbox.deliveryRecords()).map((r) => r.phase);
        expect(
          phases.filter((p) => p !== 'finished'),
          'records not yet tombstones',
        ).to.deep.equal([]);
        expect(phases).to.have.length(TRIGGERS);
      },
      30_000,
      250,
    );
    const nc = await connect({ servers: sandbox.natsUrl });
    try {
      const jsm = await jetstreamManager(nc);
      const consumer = JetStreamSource.durableName('gitops-service', 'sh.keptn.event.deliver.triggered');
      await eventually(
        async () => {
          const info = await jsm.consumers.info('keptn', consumer);
          expect([info.num_pending, info.num_ack_pending], 'pending, unacknowledged').to.deep.equal([0, 0]);
        },
        60_000,
        250,
      );
    } finally {
      await nc.close();
    }

    const twice = triggers.filter(
      (t) => sandbox.answers(t).started.length !== 1 || sandbox.answers(t).finished.length !== 1,
    );
    expect(
      twice.map(
        (t) =>
          `${t.data.service}: ${sandbox.answers(t).started.length} started, ${sandbox.answers(t).finished.length} finished`,
      ),
      'triggers not answered exactly once',
    ).to.deep.equal([]);
    for (const t of triggers)
      expect(sandbox.answers(t).finished[0]!.data, String(t.data.service)).to.include({
        status: 'succeeded',
        result: 'pass',
      });
    const reconciled = names.filter(
      (name) => sandbox.flux.reconciles.get(`Kustomization/flux-system/${name}`) !== 1,
    );
    expect(
      reconciled.map(
        (name) => `${name}: ${sandbox.flux.reconciles.get(`Kustomization/flux-system/${name}`) ?? 0}`,
      ),
      'Kustomizations not reconciled exactly once',
    ).to.deep.equal([]);
  });
});
