import { expect } from 'chai';
import { DEPLOYED_SHA, Harness, NEW_SHA, argoApp, argoBody, outOfSync } from './harness.js';

const GUESTBOOK = 'Application/argocd/guestbook';
const OTHER_SHA = '2222222222222222222222222222222222222222';

/** How the service reads one Argo CD notification: who is woken, what starts, what is counted and logged. */
describe('Argo CD notifications: the decision', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await Harness.start();
  });
  afterEach(() => h.close());

  async function post(app: unknown, trigger = 'on-out-of-sync'): Promise<void> {
    expect((await h.postArgo(argoBody(app, trigger))).status).to.equal(202);
    await h.handler.idle();
  }
  const drift = () => h.count('gitops_drift_total', { tool: 'argocd' });
  const logged = (message: string) => h.log.entries.filter((e) => e.message === message);

  it('wakes a followed delivery whose operation carries our ids among others, even OutOfSync, and logs it with the application', async () => {
    h.following.add(`argocd ${GUESTBOOK}`);
    const running = outOfSync(NEW_SHA);
    running.operation = {
      info: [
        { name: 'reason', value: 'rollout' },
        { name: 'triggeredid', value: 'd2a5a4b0-5b1e-4c2a-9a53-0f6d2f1b7c11' },
      ],
    };
    await post(running);
    expect(h.woken).to.have.length(1);
    expect(h.started).to.have.length(0);
    const [entry] = logged('notification about a followed delivery; waking its follower');
    expect(entry?.meta).to.include({
      tool: 'argocd',
      target: GUESTBOOK,
      trigger: 'on-out-of-sync',
      instance: 'default',
    });
  });

  it('wakes a followed delivery on a Synced application whatever its operation says', async () => {
    h.following.add(`argocd ${GUESTBOOK}`);
    await post(argoApp(), 'on-deployed');
    expect(h.woken).to.have.length(1);
  });

  it('takes an OutOfSync application of a followed target whose operation is not ours for a change: someone else synced', async () => {
    h.following.add(`argocd ${GUESTBOOK}`);
    for (const info of [[{ name: 'reason', value: 'manual' }], [{ name: 'triggeredid', value: '' }]]) {
      h.woken.length = 0;
      const foreign = outOfSync(info[0]!.name === 'reason' ? NEW_SHA : OTHER_SHA);
      foreign.operation = { info };
      await post(foreign);
      expect(h.woken, JSON.stringify(info)).to.have.length(0);
    }
    expect(h.started.map((t) => (t.data.gitops as { revision: string }).revision)).to.deep.equal([
      NEW_SHA,
      OTHER_SHA,
    ]);
  });

  it('starts the sequence for the revisions of a multi-source application, and counts no drift for it', async () => {
    const app = outOfSync(NEW_SHA);
    delete app.status.sync.revision;
    app.status.sync.revisions = [NEW_SHA, OTHER_SHA];
    await post(app);
    expect(h.started.map((t) => (t.data.gitops as { revision: string }).revision)).to.deep.equal([
      `${NEW_SHA},${OTHER_SHA}`,
    ]);
    expect(await drift()).to.equal(0);
  });

  it('ignores an OutOfSync notification without a revision, saying so', async () => {
    const app = outOfSync(NEW_SHA);
    delete app.status.sync.revision;
    await post(app);
    expect(h.started).to.have.length(0);
    expect(logged('OutOfSync notification without status.sync.revision; ignored')).to.have.length(1);
  });

  it('ignores, without counting drift, a notification that is not OutOfSync and a new revision no onChange rule maps', async () => {
    await post(argoApp(), 'on-deployed');
    expect(logged('notification ignored: not OutOfSync and no delivery followed')[0]?.meta).to.include({
      syncStatus: 'Synced',
    });
    await post(
      argoApp((app) => {
        app.metadata.name = 'carts-dev';
        app.status.sync.status = 'OutOfSync';
        app.status.sync.revision = NEW_SHA;
      }),
    );
    expect(
      logged('OutOfSync on a new revision, but no target with onChange maps this application')[0]?.meta,
    ).to.include({ revision: NEW_SHA });
    expect(await drift()).to.equal(0);
  });

  it('logs why an OutOfSync is drift: the revision deployed, then one already seen', async () => {
    await post(outOfSync(DEPLOYED_SHA));
    await post(outOfSync(NEW_SHA));
    await post(outOfSync(NEW_SHA));
    expect(
      logged('drift: OutOfSync on the revision already deployed; no sequence started')[0]?.meta,
    ).to.include({ revision: DEPLOYED_SHA });
    expect(logged('drift: OutOfSync on a revision already seen; no sequence started')[0]?.meta).to.include({
      revision: NEW_SHA,
    });
    expect(await drift()).to.equal(2);
  });

  it('knows the deployed revision from the last sync result, its revisions, or else the newest history entry', async () => {
    const deployed = (change: (app: any) => void) =>
      argoApp((app) => {
        app.status.sync.status = 'OutOfSync';
        app.status.sync.revision = DEPLOYED_SHA;
        change(app);
      });
    // The sync result wins over an older history.
    await post(deployed((app) => (app.status.history = [{ revision: OTHER_SHA }])));
    // A multi-source result.
    await post(
      deployed((app) => {
        delete app.status.operationState.syncResult.revision;
        app.status.operationState.syncResult.revisions = [DEPLOYED_SHA];
      }),
    );
    // No operation at all: the newest history entry.
    await post(
      deployed((app) => {
        delete app.status.operationState;
        app.status.history = [{ revision: OTHER_SHA }, { revision: DEPLOYED_SHA }];
      }),
    );
    expect(h.started).to.have.length(0);
    expect(await drift()).to.equal(3);
  });

  it('takes an application with neither operation nor history for a change', async () => {
    await post(
      argoApp((app) => {
        app.status.sync.status = 'OutOfSync';
        app.status.sync.revision = NEW_SHA;
        delete app.status.operationState;
        app.status.history = [];
      }),
    );
    expect(h.started).to.have.length(1);
  });
});
