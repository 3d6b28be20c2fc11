import { expect } from 'chai';
import { validateSequenceTrigger } from '../../../service/webhooks/sequence-trigger.js';
import { MemorySeenRevisions } from '../../../service/state/seen-revisions.js';
import {
  DEPLOYED_SHA,
  Harness,
  NEW_SHA,
  TARGETS_YAML,
  argoApp,
  argoBody,
  outOfSync,
  testConfig,
} from './harness.js';

const GUESTBOOK = 'Application/argocd/guestbook';

describe('Argo CD notifications', () => {
  let h: Harness;
  afterEach(() => h.close());

  async function post(body: unknown): Promise<void> {
    const res = await h.postArgo(body);
    expect(res.status).to.equal(202);
    await h.handler.idle();
  }

  it('starts the onChange sequence when the app is OutOfSync on a new revision', async () => {
    h = await Harness.start();
    await post(argoBody(outOfSync(NEW_SHA)));
    expect(h.started).to.have.length(1);
    const [trigger] = h.started;
    expect(trigger!.type).to.equal('sh.keptn.event.dev.delivery.triggered');
    expect(trigger!.shkeptncontext).to.match(/^[0-9a-f-]{36}$/);
    expect(trigger!.data).to.deep.equal({
      project: 'demo',
      stage: 'dev',
      service: 'guestbook',
      labels: {},
      gitops: { tool: 'argocd', target: GUESTBOOK, revision: NEW_SHA, stage: 'dev' },
    });
    expect(() => validateSequenceTrigger(trigger!)).not.to.throw();
    expect(await h.count('gitops_sequences_triggered_total', { tool: 'argocd' })).to.equal(1);
  });

  it('starts the sequence once when the same OutOfSync notification arrives twice', async () => {
    h = await Harness.start();
    await post(argoBody(outOfSync(NEW_SHA)));
    await post(argoBody(outOfSync(NEW_SHA)));
    expect(h.started).to.have.length(1);
  });

  it('starts a new sequence for the next new revision', async () => {
    h = await Harness.start();
    await post(argoBody(outOfSync(NEW_SHA)));
    await post(argoBody(outOfSync('1111111111111111111111111111111111111111')));
    expect(h.started.map((t) => (t.data.gitops as { revision: string }).revision)).to.deep.equal([
      NEW_SHA,
      '1111111111111111111111111111111111111111',
    ]);
    expect(h.started[0]!.shkeptncontext).not.to.equal(h.started[1]!.shkeptncontext);
  });

  it('counts drift and starts nothing when OutOfSync on the revision already deployed', async () => {
    h = await Harness.start();
    await post(argoBody(outOfSync(DEPLOYED_SHA)));
    expect(h.started).to.have.length(0);
    expect(await h.count('gitops_drift_total', { tool: 'argocd' })).to.equal(1);
  });

  it('counts drift for an OutOfSync on a revision already seen', async () => {
    h = await Harness.start();
    await post(argoBody(outOfSync(NEW_SHA)));
    await post(argoBody(outOfSync(NEW_SHA)));
    expect(await h.count('gitops_drift_total', { tool: 'argocd' })).to.equal(1);
  });

  it('ignores an app of another known instance', async () => {
    h = await Harness.start({
      config: testConfig(
        `argocd:\n  instances:\n    - {name: prod, server: argocd.prod.example.com, tokenEnv: ARGOCD_AUTH_TOKEN}\n${TARGETS_YAML}`,
      ),
    });
    await post(argoBody(outOfSync(NEW_SHA), 'on-out-of-sync', 'prod'));
    expect(h.started).to.have.length(0);
  });

  it('ignores an app that no onChange target names', async () => {
    h = await Harness.start();
    await post(
      argoBody(
        argoApp((app) => {
          app.metadata.name = 'carts-dev';
          app.status.sync.status = 'OutOfSync';
          app.status.sync.revision = NEW_SHA;
        }),
      ),
    );
    expect(h.started).to.have.length(0);
  });

  it('honours appNamespace on the rule', async () => {
    const { testConfig } = await import('./harness.js');
    const config = testConfig(`
webhooks: {argocdTokenEnv: ARGOCD_WEBHOOK_TOKEN}
targets:
  - match: {project: demo, stage: dev, service: guestbook}
    argocd: {application: guestbook, appNamespace: team-a}
    onChange: {sequence: delivery}
`);
    h = await Harness.start({ config });
    await post(argoBody(outOfSync(NEW_SHA)));
    expect(h.started).to.have.length(0);
    await post(
      argoBody(
        argoApp((app) => {
          app.metadata.namespace = 'team-a';
          app.status.sync.status = 'OutOfSync';
          app.status.sync.revision = NEW_SHA;
        }),
      ),
    );
    expect(h.started).to.have.length(1);
    expect((h.started[0]!.data.gitops as { target: string }).target).to.equal('Application/team-a/guestbook');
  });

  it('wakes the follower of a delivery it started and starts nothing', async () => {
    h = await Harness.start();
    h.following.add(`argocd ${GUESTBOOK}`);
    const deployed = argoApp((app) => {
      app.status.operationState.operation.info = [
        { name: 'shkeptncontext', value: '2f4c9a52-3d1b-4a8f-b1e5-8b9f6e0c7d22' },
        { name: 'triggeredid', value: 'd2a5a4b0-5b1e-4c2a-9a53-0f6d2f1b7c11' },
      ];
    });
    await post(argoBody(deployed, 'on-deployed'));
    expect(h.woken).to.deep.equal([{ tool: 'argocd', target: GUESTBOOK }]);
    expect(h.started).to.have.length(0);
    expect(await h.count('gitops_drift_total', { tool: 'argocd' })).to.equal(0);
  });

  it('wakes the follower when our operation is still running with the app OutOfSync', async () => {
    h = await Harness.start();
    h.following.add(`argocd ${GUESTBOOK}`);
    const running = outOfSync(NEW_SHA);
    running.operation = { info: [{ name: 'shkeptncontext', value: 'ctx' }], sync: { revision: NEW_SHA } };
    await post(argoBody(running, 'on-sync-failed'));
    expect(h.woken).to.have.length(1);
    expect(h.started).to.have.length(0);
  });

  it('does not wake anyone for a deployment nobody follows', async () => {
    h = await Harness.start();
    await post(argoBody(argoApp(), 'on-deployed'));
    expect(h.woken).to.have.length(0);
    expect(h.started).to.have.length(0);
  });

  it('forgets the revision when the sequence cannot be started, so a re-sent notification retries', async () => {
    let fail = true;
    const started: unknown[] = [];
    h = await Harness.start({
      startSequence: async (t) => {
        if (fail) throw new Error('nats down');
        started.push(t);
      },
    });
    await post(argoBody(outOfSync(NEW_SHA)));
    expect(started).to.have.length(0);
    fail = false;
    await post(argoBody(outOfSync(NEW_SHA)));
    expect(started).to.have.length(1);
  });

  it('counts a change whose sequence cannot be started as a failed notification, not as drift', async () => {
    h = await Harness.start({
      startSequence: async () => {
        throw new Error('nats down');
      },
    });
    await post(argoBody(outOfSync(NEW_SHA)));
    expect(await h.count('gitops_drift_total', { tool: 'argocd' })).to.equal(0);
    expect(await h.count('gitops_notifications_failed_total', { tool: 'argocd' })).to.equal(1);
  });

  it('does not start the sequence again after a restart with the same seen store', async () => {
    const seen = new MemorySeenRevisions();
    h = await Harness.start({ seen });
    await post(argoBody(outOfSync(NEW_SHA)));
    await h.close();
    h = await Harness.start({ seen });
    await post(argoBody(outOfSync(NEW_SHA)));
    expect(h.started).to.have.length(0);
  });
});
