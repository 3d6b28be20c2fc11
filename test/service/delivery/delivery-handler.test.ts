import { expect } from 'chai';
import { SHUTDOWN_MESSAGE } from '../../../lib/index.js';
import { DeliveryHandler } from '../../../service/delivery/delivery-handler.js';
import { DeployError, type DeployRequest } from '../../../service/deployers/deployer.js';
import { InMemoryDelivery, TARGETS_FILE, trigger } from './in-memory.js';

const PODINFO = 'Kustomization/flux-system/podinfo';

/**
 * One trigger through the SDK's event loop and the delivery handler, in memory: the answers Keptn
 * sees, the delivery record's phases, the clean-up after the `.finished`, the metrics and the log.
 */
describe('DeliveryHandler: what Keptn and the records see of a trigger', () => {
  let d: InMemoryDelivery;
  afterEach(() => d.stop(100));

  async function start(options: { durable?: boolean; owner?: string | null } = {}): Promise<DeliveryHandler> {
    d = new InMemoryDelivery({ durable: options.durable });
    const handler = new DeliveryHandler({
      getConfig: d.getConfig,
      deployers: d.deployers,
      logger: d.logger,
      metrics: d.metrics,
      store: d.store,
      now: d.clock.now,
      ...(options.owner === null ? {} : { owner: options.owner ?? 'pod-a' }),
    });
    d.loop.handle('deliver', handler);
    await d.loop.start();
    return handler;
  }

  /** Sends the trigger and returns its one `.finished`, once every step after it ran too. */
  async function deliver(event = trigger()) {
    d.bus.send(event);
    const finished = await d.bus.finished(event.id);
    await d.stop();
    const answers = d.bus.answers(event.id);
    expect(answers.started, 'one .started').to.have.length(1);
    expect(answers.finished, 'one .finished').to.have.length(1);
    return finished;
  }

  const counted = async (metric: 'deliveries' | 'deliveryErrors') =>
    (await d.metrics[metric].get()).values.map((v) => ({ ...v.labels, count: v.value }));

  it('passes a delivery with the deployed revision, recording claimed, started, then finished, and cleans up only after the .finished', async () => {
    const handler = await start();
    const event = trigger(
      {},
      {
        gitops: { revision: '696f056', stage: 'dev' },
        deliver: { deploymentstrategy: 'blue_green_service' },
      },
    );
    const claimedAt = d.clock.ms;
    let whileDeploying: unknown;
    d.deployer.outcome = async () => {
      whileDeploying = {
        record: await d.store.record(event.id),
        following: handler.active.has('flux', PODINFO),
      };
      d.clock.ms += 2500;
      return {};
    };

    const finished = await deliver(event);

    expect(d.steps).to.deep.equal([
      'record claimed',
      '.started',
      'record started',
      'deploy',
      '.finished',
      'record finished',
      'settle',
    ]);
    const target = {
      rule: 0,
      timeoutMs: 30_000,
      deploymentName: 'podinfo-primary',
      tool: 'flux',
      flux: {
        kind: 'Kustomization',
        name: 'podinfo',
        namespace: 'flux-system',
        force: false,
        withSource: false,
      },
    };
    const record = {
      project: 'shop',
      stage: 'dev',
      service: 'podinfo',
      type: 'sh.keptn.event.deliver.triggered',
      shkeptncontext: event.shkeptncontext,
      triggeredid: event.id,
      labels: { team: 'a' },
      startedAt: new Date(claimedAt).toISOString(),
      deadline: claimedAt + 30_000,
      phase: 'started',
      claim: d.store.creates[0]!.record.claim,
      target: PODINFO,
      tool: 'flux',
      resolved: target,
      owner: 'pod-a',
      gitcommitid: 'f00dcafe',
      requestedRevision: '696f056',
    };
    expect(whileDeploying).to.deep.equal({ record, following: true });
    expect(handler.active.has('flux', PODINFO), 'not followed after the delivery').to.equal(false);
    expect(d.store.creates[0]!.options?.deadline).to.equal(claimedAt + 30_000);
    expect(d.store.creates[0]!.options?.signal).to.be.an.instanceOf(AbortSignal);
    const [deploy, settle] = d.deployer.requests;
    expect(deploy!.request.delivery).to.deep.equal({ ...record, phase: 'claimed' });
    expect(deploy!.request.target).to.deep.equal(target);
    expect(deploy!.request.signal.aborted).to.equal(false);
    expect(settle!.request).to.equal(deploy!.request);
    expect(await d.store.record(event.id)).to.deep.include({
      phase: 'finished',
      finishedAt: new Date(claimedAt + 2500).toISOString(),
    });

    expect(finished.data).to.deep.equal({
      project: 'shop',
      stage: 'dev',
      service: 'podinfo',
      labels: { team: 'a' },
      status: 'succeeded',
      result: 'pass',
      message: 'deployed podinfo',
      deployment: {
        deploymentstrategy: 'blue_green_service',
        deploymentNames: ['podinfo-primary'],
        deploymentURIsLocal: [],
        deploymentURIsPublic: ['https://podinfo.example.com'],
        gitCommit: 'main@sha1:696f056df216eea4f9401adbee0ff744d4df390f',
      },
      gitops: {
        tool: 'flux',
        target: PODINFO,
        revision: 'main@sha1:696f056df216eea4f9401adbee0ff744d4df390f',
        images: ['ghcr.io/stefanprodan/podinfo:6.5.0'],
        startedAt: '2026-12-06T18:00:00.000Z',
        finishedAt: '2026-12-06T18:00:05.000Z',
      },
    });
    expect(await counted('deliveries')).to.deep.equal([
      { tool: 'flux', status: 'succeeded', result: 'pass', count: 1 },
    ]);
    const duration = (await d.metrics.deliveryDuration.get()).values;
    expect(duration.find((v) => v.metricName?.endsWith('_sum'))).to.deep.include({
      value: 2.5,
      labels: { tool: 'flux' },
    });
    expect(d.errors()).to.deep.equal([]);
  });

  it('records only what the trigger has: no owner, commit or revision requested for another stage', async () => {
    await start({ owner: null });
    const event = {
      ...trigger({}, { gitops: { revision: '696f056', stage: 'prod' } }),
      gitcommitid: undefined,
    };
    let recorded: unknown;
    d.deployer.outcome = async () => {
      recorded = await d.store.record(event.id);
      return {};
    };
    await deliver(event);
    expect(recorded).to.have.all.keys(
      'project',
      'stage',
      'service',
      'type',
      'shkeptncontext',
      'triggeredid',
      'labels',
      'startedAt',
      'deadline',
      'phase',
      'claim',
      'target',
      'tool',
      'resolved',
    );
  });

  it('passes on what the tool reported when the deployment itself fails (succeeded/fail)', async () => {
    await start();
    d.deployer.outcome = {
      result: 'fail',
      message: 'Application argocd/carts-prod is Degraded',
      target: 'Application/argocd/carts-prod',
      instance: 'default',
      revision: undefined,
    };
    const finished = await deliver(trigger({ stage: 'prod', service: 'carts' }));
    expect(finished.data).to.deep.include({
      status: 'succeeded',
      result: 'fail',
      message: 'Application argocd/carts-prod is Degraded',
    });
    expect(finished.data.gitops).to.deep.include({ tool: 'argocd', instance: 'default', revision: '' });
    expect(finished.data.deployment).to.deep.include({ deploymentstrategy: 'direct', gitCommit: '' });
    const { target } = d.deployer.requests[0]!.request;
    expect(target).to.deep.include({ tool: 'argocd', timeoutMs: 45_000 });
    expect(target.tool === 'argocd' && target.argocd).to.deep.include({
      application: 'carts-prod',
      instance: 'default',
    });
    expect(await counted('deliveries')).to.deep.equal([
      { tool: 'argocd', status: 'succeeded', result: 'fail', count: 1 },
    ]);
  });

  it('answers errored with gitops.reason when the deployer cannot deliver, and cleans up after the .finished', async () => {
    const handler = await start();
    d.deployer.outcome = new DeployError(
      'suspended',
      'Kustomization flux-system/podinfo is suspended: flux resume kustomization podinfo -n flux-system',
      PODINFO,
    );
    const finished = await deliver();
    expect(finished.data).to.deep.include({
      status: 'errored',
      result: 'fail',
      message:
        'Kustomization flux-system/podinfo is suspended: flux resume kustomization podinfo -n flux-system',
      gitops: { tool: 'flux', target: PODINFO, reason: 'suspended' },
    });
    expect(d.steps.slice(-3)).to.deep.equal(['.finished', 'record finished', 'settle']);
    expect(handler.active.has('flux', PODINFO)).to.equal(false);
    expect(await counted('deliveries')).to.deep.equal([
      { tool: 'flux', status: 'errored', result: 'fail', count: 1 },
    ]);
    expect(await counted('deliveryErrors')).to.deep.equal([{ tool: 'flux', reason: 'suspended', count: 1 }]);
    expect(d.errors(), 'an expected failure is no error in the log').to.deep.equal([]);
  });

  it('answers errored naming the tool when a delivery fails unexpectedly, and logs the stack with the trigger', async () => {
    await start();
    const failure = new Error('socket hang up');
    d.deployer.outcome = failure;
    const event = trigger();
    const finished = await deliver(event);
    expect(finished.data).to.deep.include({
      status: 'errored',
      result: 'fail',
      message: 'flux delivery failed unexpectedly: socket hang up',
    });
    expect(finished.data).not.to.have.property('gitops');
    expect(d.errors()).to.deep.equal([
      {
        level: 'error',
        message: 'delivery failed unexpectedly',
        meta: {
          shkeptncontext: event.shkeptncontext,
          triggeredid: event.id,
          task: 'deliver',
          error: failure.stack,
        },
      },
    ]);
    expect(await counted('deliveryErrors')).to.deep.equal([{ tool: 'flux', reason: 'unexpected', count: 1 }]);
    expect(d.steps.slice(-3)).to.deep.equal(['.finished', 'record finished', 'settle']);
  });

  it('answers errored, naming the targets file and the scope, a trigger no rule matches, and keeps its tombstone', async () => {
    await start();
    const claimedAt = d.clock.ms;
    const event = trigger({ project: 'other' }, { labels: undefined });
    const finished = await deliver(event);
    expect(finished.data).to.deep.include({
      status: 'errored',
      result: 'fail',
      message: `no target in ${TARGETS_FILE} matches project=other stage=dev service=podinfo: add a rule for it, or narrow this integration's subscription in the Bridge`,
    });
    expect(d.steps).to.deep.equal([
      'record claimed',
      '.started',
      'record started',
      '.finished',
      'record finished',
    ]);
    const record = await d.store.record(event.id);
    expect(record).to.deep.include({ phase: 'finished', labels: {}, deadline: claimedAt + 60_000 });
    expect(record).not.to.have.any.keys('target', 'tool', 'resolved');
    expect(d.store.creates[0]!.options?.deadline).to.equal(claimedAt + 60_000);
  });

  it('answers errored when the tool of the target is not configured, and keeps its tombstone', async () => {
    await start();
    d.toolConfigured = false;
    const event = trigger();
    const finished = await deliver(event);
    expect(finished.data).to.deep.include({
      status: 'errored',
      result: 'fail',
      message:
        'cannot deliver through flux: no Kubernetes API is configured (run in a cluster or set KUBECONFIG)',
    });
    expect(d.steps.slice(-2)).to.deep.equal(['.finished', 'record finished']);
    expect(d.deployer.requests).to.deep.equal([]);
  });

  it('sends nothing for a trigger whose record exists (answered elsewhere, or already finished)', async () => {
    await start();
    const event = trigger();
    d.bus.send(event);
    await d.bus.finished(event.id);
    await d.stop();
    // A second replica (or this one restarted) sees the same trigger again.
    const tombstone = await d.store.record(event.id);
    const other = new InMemoryDelivery();
    await other.store.memory.create(tombstone!);
    const handler = new DeliveryHandler({
      getConfig: other.getConfig,
      deployers: other.deployers,
      logger: other.logger,
      store: other.store,
      owner: 'pod-b',
    });
    other.loop.handle('deliver', handler);
    await other.loop.start();
    other.bus.send(event);
    await other.stop();
    expect(other.bus.published).to.deep.equal([]);
    expect(other.steps).to.deep.equal(['record exists']);
  });

  describe('when the service shuts down during a delivery', () => {
    const untilAborted = async (request: DeployRequest) => {
      await new Promise((resolve) => request.signal.addEventListener('abort', resolve));
      return request.signal.reason as Error;
    };

    it('with durable records, hands the delivery over: no .finished, and the record stays started', async () => {
      await start({ durable: true });
      d.deployer.outcome = untilAborted;
      const event = trigger();
      d.bus.send(event);
      await d.stop(10);
      expect(d.bus.answers(event.id).finished).to.deep.equal([]);
      expect(await d.store.record(event.id)).to.deep.include({ phase: 'started', owner: 'pod-a' });
      expect(d.logger.entries).to.deep.include({
        level: 'info',
        message: 'delivery handed over: the service is shutting down',
        meta: {
          shkeptncontext: event.shkeptncontext,
          triggeredid: event.id,
          task: 'deliver',
          target: 'flux',
        },
      });
      expect(await counted('deliveries')).to.deep.equal([]);
    });

    it('with records in memory, answers errored and keeps the tombstone', async () => {
      await start({ durable: false });
      d.deployer.outcome = untilAborted;
      const event = trigger();
      d.bus.send(event);
      await d.stop(10);
      const [finished] = d.bus.answers(event.id).finished;
      expect(finished?.data).to.deep.include({
        status: 'errored',
        result: 'fail',
        message: `flux delivery failed unexpectedly: ${SHUTDOWN_MESSAGE}`,
      });
      expect(await d.store.record(event.id)).to.deep.include({ phase: 'finished' });
    });
  });

  describe('when another replica may have taken the delivery over', () => {
    it('answers when the record still names this replica', async () => {
      await start({ durable: true });
      d.deployer.outcome = new DeployError('timeout', 'deadline passed', PODINFO);
      const finished = await deliver();
      expect(finished.data).to.deep.include({ status: 'errored', result: 'fail' });
      expect(d.steps.slice(-3)).to.deep.equal(['.finished', 'record finished', 'settle']);
    });

    it('sends no .finished and leaves the record to the replica that adopted it', async () => {
      await start({ durable: true });
      const event = trigger();
      d.deployer.outcome = async () => {
        await d.store.claim(event.id, 'pod-b', 'pod-a');
        return {};
      };
      d.bus.send(event);
      await d.stop();
      expect(d.bus.answers(event.id)).to.deep.equal({ started: [d.bus.published[0]], finished: [] });
      expect(await d.store.record(event.id)).to.deep.include({ phase: 'started', owner: 'pod-b' });
      expect(d.steps).not.to.include('settle');
      expect(d.logger.entries.filter((e) => e.level === 'warn')).to.deep.equal([
        {
          level: 'warn',
          message:
            'another replica took this delivery over while this one could not renew its lease; that replica sends the .finished',
          meta: {
            shkeptncontext: event.shkeptncontext,
            triggeredid: event.id,
            task: 'deliver',
            owner: 'pod-b',
          },
        },
      ]);
    });

    it('sends no .finished when its record was removed', async () => {
      await start({ durable: true });
      const event = trigger();
      d.deployer.outcome = async () => {
        await d.store.remove(event.id);
        return {};
      };
      d.bus.send(event);
      await d.stop();
      expect(d.bus.answers(event.id).finished).to.deep.equal([]);
      expect(d.logger.entries.map((e) => e.meta.owner)).to.include('none (record removed)');
    });

    it('answers anyway, with a warning, when the record cannot be read', async () => {
      await start({ durable: true });
      const event = trigger();
      d.deployer.outcome = async () => {
        d.store.ownerOfFails = new Error('connect ECONNREFUSED 10.0.0.1:443');
        await d.store.claim(event.id, 'pod-b', 'pod-a');
        return {};
      };
      const finished = await deliver(event);
      expect(finished.data).to.deep.include({ status: 'succeeded', result: 'pass' });
      expect(d.logger.entries.filter((e) => e.level === 'warn')).to.deep.include({
        level: 'warn',
        message: 'cannot re-read the delivery record before answering; answering anyway',
        meta: {
          shkeptncontext: finished.shkeptncontext,
          triggeredid: finished.triggeredid,
          task: 'deliver',
          error: 'connect ECONNREFUSED 10.0.0.1:443',
        },
      });
    });

    for (const [why, options] of [
      ['the replica has no identity', { durable: true, owner: null }],
      ['its records are in memory (one replica)', { durable: false }],
    ] as const)
      it(`answers without asking when ${why}`, async () => {
        await start(options);
        const event = trigger();
        d.store.ownerOfFails = new Error('must not be asked');
        d.deployer.outcome = async () => {
          await d.store.claim(event.id, 'pod-b', (await d.store.record(event.id))!.owner);
          return {};
        };
        const finished = await deliver(event);
        expect(finished.data).to.deep.include({ status: 'succeeded', result: 'pass' });
        expect(d.logger.entries.filter((e) => e.level === 'warn')).to.deep.equal([]);
      });
  });
});
