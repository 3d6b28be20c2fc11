import { expect } from 'chai';
import type { ResolvedTarget } from '../../../service/config/gitops-config.js';
import { resolveTarget } from '../../../service/config/resolve-target.js';
import { DeliveryAdopter } from '../../../service/delivery/delivery-adopter.js';
import { DeliveryHandler } from '../../../service/delivery/delivery-handler.js';
import type { DeliveryRecord } from '../../../service/state/delivery-record.js';
import { eventually } from '../../support/eventually.js';
import { deferred, InMemoryDelivery, targetsConfig } from './in-memory.js';

const PODINFO = 'Kustomization/flux-system/podinfo';
const CONTEXT = 'a3e5f16d-8888-4720-82c7-6995062905c1';
const PODINFO_TARGET = resolveTarget(targetsConfig(), { project: 'shop', stage: 'dev', service: 'podinfo' })!;

let nextId = 0;

/** The record a replica left behind: `.started` sent, its owner `pod-a`, dead. */
function orphan(extra: Partial<DeliveryRecord> = {}): DeliveryRecord {
  return {
    type: 'sh.keptn.event.deliver.triggered',
    shkeptncontext: CONTEXT,
    triggeredid: `orphan-${++nextId}`,
    project: 'shop',
    stage: 'dev',
    service: 'podinfo',
    labels: { team: 'a' },
    gitcommitid: 'f00dcafe',
    startedAt: '2026-12-06T17:00:00.000Z',
    deadline: Date.parse('2026-12-06T18:30:00.000Z'),
    phase: 'started',
    owner: 'pod-a',
    claim: 'created-by-pod-a',
    target: PODINFO,
    tool: 'flux',
    resolved: PODINFO_TARGET,
    ...extra,
  };
}

/**
 * The adopter of replica `pod-b` finishing the deliveries of dead replicas (and of its own previous run)
 * through the delivery handler and the SDK's event loop, in memory: what Keptn sees of each, and what the
 * deployer is asked to do.
 */
describe('DeliveryAdopter: finishing the deliveries of a replica that died', () => {
  let d: InMemoryDelivery;
  let adopter: DeliveryAdopter;
  let loopReady: boolean;
  afterEach(async () => {
    adopter.stop();
    await d.stop(100);
  });

  async function start(records: DeliveryRecord[], options: { intervalMs?: number } = {}) {
    d = new InMemoryDelivery({ durable: true });
    for (const record of records) await d.store.memory.create(record);
    const handler = new DeliveryHandler({
      getConfig: d.getConfig,
      deployers: d.deployers,
      logger: d.logger,
      store: d.store,
      owner: 'pod-b',
      now: d.clock.now,
    });
    d.loop.handle('deliver', handler);
    await d.loop.start();
    loopReady = true;
    adopter = new DeliveryAdopter({
      store: d.store,
      replicas: { identity: 'pod-b', liveReplicas: async () => new Set(['pod-b', 'pod-live']) },
      handler,
      loop: () => (loopReady ? d.loop : undefined),
      getConfig: d.getConfig,
      logger: d.logger,
      runStartedAt: d.clock.ms,
      intervalMs: options.intervalMs ?? 60_000,
    });
  }

  /** The one `.finished` of an adopted record, once its clean-up ran too. */
  async function finishedOf(record: DeliveryRecord) {
    const finished = await d.bus.finished(record.triggeredid);
    await d.stop();
    expect(d.bus.answers(record.triggeredid).finished, 'one .finished').to.have.length(1);
    return finished;
  }

  it('follows what the dead replica triggered without triggering again, and answers with only a .finished', async () => {
    const record = orphan();
    await start([record]);
    await adopter.start();
    const finished = await finishedOf(record);
    expect(d.bus.answers(record.triggeredid).started).to.deep.equal([]);
    expect(d.steps).to.deep.equal(['resume', '.finished', 'record finished', 'settle']);
    expect(d.deployer.recovered).to.deep.equal([{ ...record, owner: 'pod-b' }]);
    const [resume] = d.deployer.requests;
    expect(resume!.request.delivery).to.deep.equal({ ...record, owner: 'pod-b', token: 'recovered' });
    expect(resume!.request.target).to.deep.equal(PODINFO_TARGET);
    expect(finished).to.deep.include({
      type: 'sh.keptn.event.deliver.finished',
      shkeptncontext: CONTEXT,
      triggeredid: record.triggeredid,
      gitcommitid: 'f00dcafe',
    });
    expect(finished.data).to.deep.include({
      project: 'shop',
      stage: 'dev',
      service: 'podinfo',
      labels: { team: 'a' },
      status: 'succeeded',
      result: 'pass',
    });
    expect(finished.data.deployment).to.deep.include({
      deploymentstrategy: 'direct',
      deploymentNames: ['podinfo-primary'],
    });
    expect(await d.store.record(record.triggeredid)).to.deep.include({ phase: 'finished', owner: 'pod-b' });
    expect(d.logger.entries).to.deep.include({
      level: 'info',
      message: 'finishing a delivery adopted from its durable record',
      meta: { shkeptncontext: CONTEXT, triggeredid: record.triggeredid, target: PODINFO },
    });
  });

  it('triggers the tool when the dead replica never did', async () => {
    const record = orphan();
    await start([record]);
    d.deployer.recovery = 'deploy';
    await adopter.start();
    const finished = await finishedOf(record);
    expect(finished.data).to.deep.include({ status: 'succeeded', result: 'pass' });
    expect(d.steps).to.deep.equal(['deploy', '.finished', 'record finished', 'settle']);
  });

  it('sends the .started first for a record claimed before its replica died, and records it', async () => {
    const record = orphan({ phase: 'claimed' });
    await start([record]);
    await adopter.start();
    await finishedOf(record);
    expect(d.bus.answers(record.triggeredid).started).to.have.length(1);
    expect(d.steps).to.deep.equal([
      '.started',
      'record started',
      'resume',
      '.finished',
      'record finished',
      'settle',
    ]);
  });

  it('answers errored, without asking the deployer, when the tool of the target is not configured any more', async () => {
    const record = orphan();
    await start([record]);
    d.toolConfigured = false;
    await adopter.start();
    const finished = await finishedOf(record);
    expect(finished.data).to.deep.include({
      status: 'errored',
      result: 'fail',
      message:
        'cannot deliver through flux: no Kubernetes API is configured (run in a cluster or set KUBECONFIG)',
    });
    expect(d.steps).to.deep.equal(['.finished', 'record finished']);
  });

  describe('the target it finishes with', () => {
    it('is the one the delivery started with, even when the targets file changed since', async () => {
      const resolved: ResolvedTarget = { ...PODINFO_TARGET, timeoutMs: 90_000, deploymentName: 'before' };
      const record = orphan({ resolved });
      await start([record]);
      await adopter.start();
      await finishedOf(record);
      expect(d.deployer.requests[0]!.request.target).to.deep.equal(resolved);
    });

    it("is what the targets file maps now when the record has none (an older record) and it names the record's target", async () => {
      const record = orphan({ resolved: undefined });
      await start([record]);
      await adopter.start();
      await finishedOf(record);
      expect(d.deployer.requests[0]!.request.target).to.deep.equal(PODINFO_TARGET);
    });

    it('is what the targets file maps now when the record names no target', async () => {
      const record = orphan({ resolved: undefined, target: undefined, tool: undefined });
      await start([record]);
      await adopter.start();
      await finishedOf(record);
      expect(d.deployer.requests[0]!.request.target).to.deep.equal(PODINFO_TARGET);
    });

    for (const [why, extra, message] of [
      [
        'the targets file maps its scope to another target',
        { service: 'carts' },
        `cannot resume ${PODINFO}: the record has no target and the targets file no longer maps shop/dev/carts to it`,
      ],
      [
        'the targets file maps its scope to nothing',
        { project: 'gone' },
        `cannot resume ${PODINFO}: the record has no target and the targets file no longer maps gone/dev/podinfo to it`,
      ],
      [
        'neither the record nor the targets file name a target',
        { project: 'gone', target: undefined, tool: undefined },
        'no target matches gone/dev/podinfo',
      ],
    ] as const)
      it(`answers errored, sending the missing .started first, and keeps a tombstone when ${why}`, async () => {
        const record = orphan({ resolved: undefined, phase: 'claimed', ...extra });
        await start([record]);
        await adopter.start();
        const finished = await finishedOf(record);
        expect(finished.data).to.deep.include({ status: 'errored', result: 'fail', message });
        expect(d.steps).to.deep.equal(['.started', 'record started', '.finished', 'record finished']);
        expect(await d.store.record(record.triggeredid)).to.deep.include({ phase: 'finished' });
      });
  });

  describe('which records it takes', () => {
    it("at start-up, takes back its own records of the previous run, leaving this run's and live replicas' alone", async () => {
      const previousRun = orphan({ owner: 'pod-b' });
      const thisRun = orphan({ owner: 'pod-b', startedAt: '2026-12-06T18:00:01.000Z' });
      const live = orphan({ owner: 'pod-live' });
      await start([previousRun, thisRun, live]);
      await adopter.start();
      await finishedOf(previousRun);
      expect(d.deployer.requests.map((r) => `${r.call} ${r.request.delivery.triggeredid}`)).to.deep.equal([
        `resume ${previousRun.triggeredid}`,
        `settle ${previousRun.triggeredid}`,
      ]);
    });

    it('keeps looking: adopts what is orphaned after start-up', async () => {
      await start([], { intervalMs: 20 });
      await adopter.start();
      const later = orphan();
      await d.store.memory.create(later);
      await d.bus.finished(later.triggeredid);
      expect(await d.store.record(later.triggeredid)).to.deep.include({ owner: 'pod-b' });
    });

    it('does not take its own records on the periodic scans', async () => {
      const own = orphan({ owner: 'pod-b' });
      await start([own]);
      await adopter.scan(false);
      await d.stop();
      expect(d.bus.published).to.deep.equal([]);
    });

    it('finishes a record once while it is being finished, however often it is found', async () => {
      const record = orphan();
      await start([record]);
      const release = deferred<object>();
      d.deployer.outcome = () => release.promise;
      await adopter.start();
      await eventually(() => expect(d.deployer.requests).to.have.length(1));
      await adopter.scan(true);
      await adopter.scan(true);
      release.resolve({});
      await finishedOf(record);
      expect(d.deployer.requests.map((r) => r.call)).to.deep.equal(['resume', 'settle']);
    });

    it('reads the records once for scans that overlap, and again for the next', async () => {
      await start([]);
      let lists = 0;
      const list = d.store.list.bind(d.store);
      d.store.list = () => {
        lists++;
        return list();
      };
      await Promise.all([adopter.scan(false), adopter.scan(true)]);
      expect(lists).to.equal(1);
      await adopter.scan(false);
      expect(lists).to.equal(2);
    });
  });

  describe('when something fails', () => {
    it('logs a scan that cannot read the records, and the next scan adopts them', async () => {
      const record = orphan();
      await start([record]);
      d.store.listFails = new Error('the server is currently unable to handle the request');
      await adopter.start();
      expect(d.logger.entries.filter((e) => e.level === 'warn')).to.deep.equal([
        {
          level: 'warn',
          message: 'could not look for orphaned deliveries; will retry',
          meta: { error: 'the server is currently unable to handle the request' },
        },
      ]);
      d.store.listFails = undefined;
      await adopter.scan(false);
      await finishedOf(record);
    });

    it('logs, with its trigger id, an adopted delivery it cannot go on with, and takes it again on a later start-up scan', async () => {
      const record = orphan();
      await start([record]);
      d.deployer.recovery = new Error('cannot read Kustomization flux-system/podinfo: 503');
      await adopter.start();
      await eventually(() =>
        expect(d.errors()).to.deep.equal([
          {
            level: 'error',
            message: 'could not finish an adopted delivery',
            meta: {
              triggeredid: record.triggeredid,
              error: 'cannot read Kustomization flux-system/podinfo: 503',
            },
          },
        ]),
      );
      expect(d.bus.published).to.deep.equal([]);
      d.deployer.recovery = 'resume';
      await adopter.scan(true);
      await finishedOf(record);
    });

    it('sends nothing before the event loop runs, and finishes the record on a later scan', async () => {
      const record = orphan();
      await start([record]);
      loopReady = false;
      await adopter.start();
      loopReady = true;
      await adopter.scan(true);
      await finishedOf(record);
      expect(d.deployer.recovered).to.have.length(1);
    });
  });
});
