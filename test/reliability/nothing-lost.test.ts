import { expect } from 'chai';
import type { KeptnEvent } from '../../lib/index.js';
import { seedGitRepository, seedKustomization } from '../../service/sandbox/flux/index.js';
import { E2eSandbox, type RunningService } from '../support/e2e-harness.js';
import { eventually } from '../support/eventually.js';

const TARGETS = `targets:
  - match: {project: shop, stage: dev}
    flux: {kind: Kustomization, name: "\${service}", namespace: flux-system}
    timeout: 1m
`;

const SERVICES = 6;

function seed(sandbox: E2eSandbox): void {
  sandbox.writeTargets(TARGETS);
  seedGitRepository(sandbox.kube, { name: 'repo', namespace: 'flux-system' });
  for (let i = 0; i < SERVICES; i++)
    seedKustomization(sandbox.kube, {
      name: `svc-${i}`,
      namespace: 'flux-system',
      wait: true,
      sourceRef: { kind: 'GitRepository', name: 'repo' },
    });
}

async function expectAnsweredOnce(sandbox: E2eSandbox, triggers: KeptnEvent[]): Promise<void> {
  for (const trigger of triggers)
    expect((await sandbox.finished(trigger, 30_000)).data).to.include({
      status: 'succeeded',
      result: 'pass',
    });
  // Each delivery is done once its record is a tombstone; a second answer would come from a second delivery.
  const ids = triggers.map((t) => t.id);
  await eventually(
    async () => {
      const done = (await sandbox.deliveryRecords()).filter(
        (r) => ids.includes(r.triggeredid) && r.phase === 'finished',
      );
      expect(done).to.have.length(ids.length);
    },
    10_000,
    100,
  );
  for (const trigger of triggers) {
    expect(sandbox.answers(trigger).started, `.started of ${trigger.data.service}`).to.have.length(1);
    expect(sandbox.answers(trigger).finished, `.finished of ${trigger.data.service}`).to.have.length(1);
  }
}

for (const jetstream of [false, true]) {
  describe(`nothing lost on ${jetstream ? 'JetStream' : 'core NATS'}: the open triggers of the control plane are answered`, function () {
    this.timeout(90_000);
    let sandbox: E2eSandbox;
    let service: RunningService | undefined;

    beforeEach(async () => {
      sandbox = await E2eSandbox.start({ jetstream, fluxDelayMs: 30 });
      seed(sandbox);
    });

    afterEach(async function () {
      if (this.currentTest?.state === 'failed' && service)
        console.log(service.proc.lines.slice(-30).join('\n'));
      await sandbox.stop();
    });

    it('answers, once, the triggers published before the service (and its JetStream consumer) first started', async () => {
      const triggers = [0, 1, 2].map((i) =>
        sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: `svc-${i}` }),
      );
      await sandbox.publish(...triggers);
      await eventually(() =>
        expect(sandbox.controlPlane.events({ type: 'sh.keptn.event.deliver.triggered' })).to.have.length(3),
      );
      service = await sandbox.startService({
        NATS_JETSTREAM: jetstream ? 'true' : 'false',
        K8S_POD_NAME: 'replica-a',
      });
      await expectAnsweredOnce(sandbox, triggers);
    });

    it('answers, once, the triggers published while its connection to a restarted NATS server was being re-established', async () => {
      service = await sandbox.startService({
        NATS_JETSTREAM: jetstream ? 'true' : 'false',
        K8S_POD_NAME: 'replica-a',
      });
      await sandbox.nats!.stop();
      // Published while the service is cut off: the control plane holds them as open triggers, and
      // no subscription of the service was there to receive them.
      const triggers = [3, 4, 5].map((i) =>
        sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: `svc-${i}` }),
      );
      for (const trigger of triggers) sandbox.controlPlane.injectTriggered(trigger);
      await sandbox.nats!.restart();
      await expectAnsweredOnce(sandbox, triggers);
    });
  });
}
