import { expect } from 'chai';
import { Registry } from 'prom-client';
import type { Application } from '../../../service/deployers/argocd/application.js';
import {
  ApplicationFollower,
  FollowTimeoutError,
} from '../../../service/deployers/argocd/application-follower.js';
import type {
  AppScope,
  ArgoCallOptions,
  ArgoCdClient,
} from '../../../service/deployers/argocd/argocd-client.js';
import { ArgoApiError } from '../../../service/deployers/argocd/errors.js';
import { createServiceMetrics } from '../../../service/metrics.js';
import { eventually } from '../../support/eventually.js';
import { RecordingLogger } from '../../support/recording-logger.js';

const SCOPE: AppScope = { appNamespace: 'argocd', project: 'shop' };

function view(revision: string): Application {
  return {
    metadata: { name: 'carts-dev', namespace: 'argocd' },
    status: { sync: { status: 'Synced', revision } },
  } as Application;
}

/** 503 is transient (the stream is reopened), 501 is not (the follower polls instead). */
function apiError(status: 501 | 503): ArgoApiError {
  return new ArgoApiError({
    instance: 'default',
    action: "watch of application 'carts-dev'",
    application: 'carts-dev',
    status,
    serverMessage: status === 501 ? 'streaming is not available here' : 'unavailable',
  });
}

/** Yields the views, then ends (the server closed it) or fails with `error`. */
async function* stream(views: Application[], error?: Error): AsyncGenerator<Application> {
  yield* views;
  if (error) throw error;
}

/** Yields the views, then stays open until the follower stops it. */
async function* openStream(views: Application[], signal: AbortSignal): AsyncGenerator<Application> {
  yield* views;
  await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error)));
}

/**
 * The Argo CD client as the follower uses it: each `watch` runs the next scripted stream (the last one
 * again when the script is used up); `getApplication` answers `get`.
 */
class ScriptedClient {
  readonly watches: { name: string; scope: AppScope; at: number }[] = [];
  readonly gets: { name: string; scope: AppScope; call: ArgoCallOptions }[] = [];
  streams: ((signal: AbortSignal) => AsyncGenerator<Application>)[] = [(signal) => openStream([], signal)];
  get: () => Promise<Application> = async () => view('polled');

  watch(name: string, scope: AppScope, signal: AbortSignal): AsyncGenerator<Application> {
    this.watches.push({ name, scope, at: performance.now() });
    const stream = this.streams[Math.min(this.watches.length, this.streams.length) - 1]!;
    return stream(signal);
  }

  getApplication(name: string, scope: AppScope, call: ArgoCallOptions): Promise<Application> {
    this.gets.push({ name, scope, call });
    return this.get();
  }
}

/**
 * The follower's watch over a scripted client: when it decides, how it reconnects and backs off, when it
 * polls instead, and how its waits end.
 */
describe('ApplicationFollower over a scripted Argo CD client', () => {
  let client: ScriptedClient;
  let logger: RecordingLogger;
  let registry: Registry;
  const followers: ApplicationFollower[] = [];
  beforeEach(() => {
    client = new ScriptedClient();
    logger = new RecordingLogger();
    registry = new Registry();
  });
  afterEach(() => {
    for (const f of followers.splice(0)) f.close();
  });

  const follower = (options: { deadline?: number; signal?: AbortSignal; initialMs?: number } = {}) => {
    const f = new ApplicationFollower({
      client: client as unknown as ArgoCdClient,
      name: 'carts-dev',
      scope: SCOPE,
      signal: options.signal ?? new AbortController().signal,
      deadline: options.deadline ?? Date.now() + 10_000,
      pollIntervalMs: 10,
      retry: { initialMs: options.initialMs ?? 5, maxMs: 60_000 },
      logger,
      metrics: createServiceMetrics(registry),
    });
    followers.push(f);
    return f;
  };

  const warnings = () => logger.entries.filter((e) => e.level === 'warn');

  it('decides on the first view it can, and is not asked again once it has', async () => {
    client.streams = [(signal) => openStream([view('a'), view('b'), view('c')], signal)];
    const f = follower();
    const asked: string[] = [];
    const decided = await f.until((app) => {
      asked.push(app.status!.sync!.revision!);
      return app.status?.sync?.revision === 'b' ? 'deployed b' : undefined;
    });
    expect(decided).to.equal('deployed b');
    f.offer(view('d'));
    expect(asked).to.deep.equal(['a', 'b']);
    expect(f.latest).to.deep.equal(view('d'));
    expect(client.watches.map(({ name, scope }) => ({ name, scope }))).to.deep.equal([
      { name: 'carts-dev', scope: SCOPE },
    ]);
  });

  it('reconnects at once when a stream ends or fails once, then backs off exponentially', async () => {
    client.streams = [() => stream([]), () => stream([], apiError(503))];
    const f = follower({ initialMs: 400 });
    void f.until(() => undefined).catch(() => undefined);
    await eventually(() => expect(client.watches).to.have.length(4), 4000);
    const [first, second, third, fourth] = client.watches.map((w) => w.at);
    expect(second! - first!, 'first reconnect: at once').to.be.below(100);
    expect(third! - second!, 'second: after 200-400 ms').to.be.within(190, 800);
    expect(fourth! - third!, 'third: after 400-800 ms').to.be.within(390, 1600);
    expect(logger.entries).to.deep.include({
      level: 'debug',
      message: 'Argo CD watch stream ended, reconnecting',
      meta: { application: 'carts-dev' },
    });
    expect(warnings()[0]).to.deep.equal({
      level: 'warn',
      message: 'Argo CD watch stream failed, reconnecting',
      meta: {
        application: 'carts-dev',
        error: "Argo CD instance 'default': watch of application 'carts-dev' failed: 503 unavailable",
      },
    });
    const retries = (await registry.getSingleMetric('gitops_api_retries_total')!.get()).values;
    expect(retries.map((v) => ({ ...v.labels, count: v.value }))).to.deep.equal([
      { tool: 'argocd', reason: '5xx', count: 3 },
    ]);
  });

  it('counts a stream that breaks without an API error as a reset', async () => {
    client.streams = [() => stream([], new Error('socket hang up'))];
    const f = follower();
    void f.until(() => undefined).catch(() => undefined);
    await eventually(() => expect(client.watches.length).to.be.at.least(2));
    const retries = (await registry.getSingleMetric('gitops_api_retries_total')!.get()).values;
    expect(retries[0]?.labels).to.deep.equal({ tool: 'argocd', reason: 'reset' });
    expect(warnings()[0]?.meta).to.deep.equal({ application: 'carts-dev', error: 'socket hang up' });
  });

  it('polls with GET, bounded by the deadline and the signal, when the stream cannot be opened', async () => {
    client.streams = [() => stream([], apiError(501))];
    let polls = 0;
    client.get = async () => view(++polls < 3 ? 'old' : 'new');
    const deadline = Date.now() + 10_000;
    const f = follower({ deadline });
    const decided = await f.until((app) => (app.status?.sync?.revision === 'new' ? 'deployed' : undefined));
    expect(decided).to.equal('deployed');
    expect(client.watches).to.have.length(1);
    expect(client.gets.length).to.be.at.least(3);
    const [first] = client.gets;
    expect(first).to.deep.include({ name: 'carts-dev', scope: SCOPE });
    expect(first!.call.deadline).to.equal(deadline);
    expect(first!.call.signal).to.be.an.instanceOf(AbortSignal);
    f.close();
    expect(first!.call.signal!.aborted, 'the GET ends with the follower').to.equal(true);
    expect(warnings()).to.deep.equal([
      {
        level: 'warn',
        message: 'cannot open the Argo CD watch stream, polling instead',
        meta: {
          application: 'carts-dev',
          error:
            "Argo CD instance 'default': watch of application 'carts-dev' failed: 501 streaming is not available here",
        },
      },
    ]);
  });

  it('fails the wait, and every later one at once, with what polling could not read', async () => {
    client.streams = [() => stream([], apiError(501))];
    const gone = new Error('applications.argoproj.io "carts-dev" not found');
    client.get = () => Promise.reject(gone);
    const f = follower({ deadline: Date.now() + 2000 });
    expect(await f.until(() => undefined).catch((e: unknown) => e)).to.equal(gone);
    expect(await f.until(() => 'never asked').catch((e: unknown) => e)).to.equal(gone);
  });

  it('ends the wait with "follower closed" when closed, without a warning', async () => {
    client.streams = [(signal) => openStream([view('a')], signal)];
    const f = follower();
    const waiting = f.until(() => undefined).catch((e: Error) => e.message);
    await eventually(() => expect(f.latest).to.deep.equal(view('a')));
    f.close();
    expect(await waiting).to.equal('follower closed');
    // The stream's abort reaches the watch loop a few promise ticks later.
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings()).to.deep.equal([]);
    expect(client.watches).to.have.length(1);
  });

  it('fails the wait at the deadline with a FollowTimeoutError carrying the last view', async () => {
    client.streams = [(signal) => openStream([view('a')], signal)];
    const f = follower({ deadline: Date.now() + 100 });
    const err = await f.until(() => undefined).catch((e: unknown) => e);
    expect(err).to.be.an.instanceOf(FollowTimeoutError);
    expect(err).to.include({
      name: 'FollowTimeoutError',
      message: 'deadline passed while following the application',
    });
    expect((err as FollowTimeoutError).latest).to.deep.equal(view('a'));
  });
});
