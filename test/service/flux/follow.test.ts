import { expect } from 'chai';
import { DeployError } from '../../../service/deployers/deployer.js';
import { Follower } from '../../../service/deployers/flux/follow.js';
import type { FluxObject } from '../../../service/deployers/flux/flux-resources.js';
import type { FollowContext } from '../../../service/deployers/flux/verdict.js';
import { systemClock } from '../../../service/kube/kube-client.js';
import type { ObjectListener, WatchHub } from '../../../service/kube/watch-hub.js';

type Watched = FluxObject & { metadata: { name: string } };

const TOKEN = '2026-05-01T10:00:00.123456001Z';
const CTX: FollowContext = {
  kind: 'Kustomization',
  target: 'Kustomization/flux-system/podinfo',
  token: TOKEN,
  previousHandled: '2026-05-01T09:00:00Z',
};

/** The shared watch of one namespace, reduced to what a follower uses. */
class FakeHub {
  readonly listeners = new Set<ObjectListener<Watched>>();
  latest?: Watched;
  subscribe(_name: string, listener: ObjectListener<Watched>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  current(): Watched | undefined {
    return this.latest;
  }
  emit(object: Watched, event: 'ADDED' | 'MODIFIED' | 'DELETED' = 'MODIFIED'): void {
    for (const listener of [...this.listeners]) listener(object, event);
  }
  asHub(): WatchHub<Watched> {
    return this as unknown as WatchHub<Watched>;
  }
}

function state(
  handled: string | undefined,
  ready: 'True' | 'False' | 'Unknown',
  spec: FluxObject['spec'] = {},
): Watched {
  return {
    metadata: { name: 'podinfo', namespace: 'flux-system', generation: 1 },
    spec,
    status: {
      observedGeneration: 1,
      lastHandledReconcileAt: handled,
      lastAppliedRevision: 'main@sha1:1111111',
      conditions: [
        {
          type: 'Ready',
          status: ready,
          message: ready === 'Unknown' ? 'Reconciliation in progress' : 'Applied revision',
        },
      ],
    },
  };
}
const DONE = state(TOKEN, 'True');
const RUNNING = state(undefined, 'Unknown');

async function rejection(promise: Promise<unknown>): Promise<DeployError> {
  const err = await promise.then(
    (v) => expect.fail(`expected a rejection, got ${JSON.stringify(v)}`),
    (e: unknown) => e,
  );
  expect(err).to.be.instanceOf(DeployError);
  return err as DeployError;
}

const later = (ms: number) => systemClock.now() + ms;

/** How one followed Flux reconcile ends: decided, deleted, suspended, timed out or stopped. */
describe('Flux Follower', () => {
  let hub: FakeHub;
  beforeEach(() => {
    hub = new FakeHub();
  });

  it('is decided by the patched object itself', async () => {
    const follower = new Follower(hub.asHub(), 'podinfo');
    follower.start(CTX, DONE);
    expect(await follower.wait(later(1000), new AbortController().signal, systemClock)).to.include({
      result: 'pass',
    });
    expect(hub.listeners.size, 'unsubscribed').to.equal(0);
  });

  it('is decided by the state the watch already has', async () => {
    hub.latest = DONE;
    const follower = new Follower(hub.asHub(), 'podinfo');
    follower.start(CTX, RUNNING);
    expect(await follower.wait(later(1000), new AbortController().signal, systemClock)).to.include({
      result: 'pass',
    });
  });

  it('ignores states seen before it knows its token, and decides on a later one', async () => {
    const follower = new Follower(hub.asHub(), 'podinfo');
    hub.emit(DONE);
    follower.start(CTX);
    const waiting = follower.wait(later(2000), new AbortController().signal, systemClock);
    hub.emit(RUNNING);
    hub.emit(state(TOKEN, 'False'));
    hub.emit(DONE);
    expect(await waiting).to.include({ result: 'fail' });
  });

  it('times out at the deadline with the last Ready message', async () => {
    const follower = new Follower(hub.asHub(), 'podinfo');
    follower.start(CTX, RUNNING);
    hub.emit(state(undefined, 'Unknown', {}));
    const err = await rejection(follower.wait(later(50), new AbortController().signal, systemClock));
    expect(err.kind).to.equal('timeout');
    expect(err.message).to.equal(
      'Kustomization/flux-system/podinfo did not finish reconciling before the deadline; last Ready message: Reconciliation in progress',
    );
    expect(hub.listeners.size).to.equal(0);
  });

  it('times out saying there was no Ready message when none came', async () => {
    const follower = new Follower(hub.asHub(), 'podinfo');
    follower.start(CTX);
    const err = await rejection(follower.wait(later(20), new AbortController().signal, systemClock));
    expect(err.message).to.contain('last Ready message: (none)');
  });

  it('stops on shutdown, before or while waiting', async () => {
    const aborted = new AbortController();
    aborted.abort(new Error('shutting down'));
    const first = new Follower(hub.asHub(), 'podinfo');
    first.start(CTX, RUNNING);
    const before = await rejection(first.wait(later(10_000), aborted.signal, systemClock));
    expect(before.kind).to.equal('timeout');
    expect(before.message).to.equal(
      'Kustomization/flux-system/podinfo: stopped following (shutting down); last Ready message: Reconciliation in progress',
    );

    const stopping = new AbortController();
    const second = new Follower(hub.asHub(), 'podinfo');
    second.start(CTX, RUNNING);
    const waiting = second.wait(later(10_000), stopping.signal, systemClock);
    stopping.abort(new Error('shutting down'));
    expect((await rejection(waiting)).message).to.contain('stopped following (shutting down)');
    expect(hub.listeners.size).to.equal(0);
  });

  it('fails not-found when the object is deleted, before or while waiting', async () => {
    const first = new Follower(hub.asHub(), 'podinfo');
    first.start(CTX, RUNNING);
    hub.emit(RUNNING, 'DELETED');
    const early = await rejection(first.wait(later(10_000), new AbortController().signal, systemClock));
    expect(early.kind).to.equal('not-found');
    expect(early.message).to.equal(
      'Kustomization/flux-system/podinfo was deleted while the delivery followed it',
    );

    const second = new Follower(hub.asHub(), 'podinfo');
    second.start(CTX, RUNNING);
    const waiting = second.wait(later(10_000), new AbortController().signal, systemClock);
    hub.emit(RUNNING, 'DELETED');
    expect((await rejection(waiting)).kind).to.equal('not-found');
  });

  it('fails suspended when the object is suspended before its reconcile was decided', async () => {
    const follower = new Follower(hub.asHub(), 'podinfo');
    follower.start(CTX, RUNNING);
    const waiting = follower.wait(later(10_000), new AbortController().signal, systemClock);
    hub.emit(state(undefined, 'Unknown', { suspend: true }));
    hub.emit(DONE);
    const err = await rejection(waiting);
    expect(err.kind).to.equal('suspended');
    expect(err.message).to.equal(
      'Kustomization flux-system/podinfo is suspended (spec.suspend: true); resume it with flux resume kustomization podinfo -n flux-system',
    );
  });

  it('keeps a decision once made, whatever comes after', async () => {
    const follower = new Follower(hub.asHub(), 'podinfo');
    follower.start(CTX, DONE);
    hub.emit(state(TOKEN, 'False', { suspend: true }));
    hub.emit(DONE, 'DELETED');
    expect(await follower.wait(later(1000), new AbortController().signal, systemClock)).to.include({
      result: 'pass',
    });
  });
});
