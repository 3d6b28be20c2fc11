import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeptnEvent } from '../../lib/index.js';
import type { Application, OperationState } from '../../service/deployers/argocd/application.js';
import type { RunningService } from '../support/e2e-harness.js';
import { eventually } from '../support/eventually.js';
import { ApplicationStream } from './support/application-stream.js';
import { ArgoCdApi, ArgoCdApiError } from './support/argocd-api.js';
import { deployment } from './support/argocd-objects.js';
import { ArgoCdTier, LOGIN_ACCOUNT } from './support/argocd-tier.js';

const TARGETS = (server: string) => `argocd:
  instances:
    - name: login
      server: ${server}
      usernameEnv: ARGOCD_LOGIN_USERNAME
      passwordEnv: ARGOCD_LOGIN_PASSWORD
    - name: wrong-token
      server: ${server}
      tokenEnv: ARGOCD_WRONG_TOKEN
webhooks:
  argocdTokenEnv: ARGOCD_WEBHOOK_TOKEN
targets:
  - match: {project: shop, stage: staging, service: carts}
    argocd: {application: carts, instance: login}
    timeout: 3m
  - match: {project: shop, stage: dev, service: badauth}
    argocd: {application: carts, instance: wrong-token}
    timeout: 3m
  - match: {project: shop, stage: dev, service: [orders-wait]}
    argocd: {application: orders, onRunningOperation: wait}
    timeout: 3m
  - match: {project: shop, stage: dev, service: [orders-terminate]}
    argocd: {application: orders, onRunningOperation: terminate}
    timeout: 3m
  - match: {project: shop, stage: dev, service: [orders-fail]}
    argocd: {application: orders, onRunningOperation: fail}
    timeout: 3m
  - match: {project: shop, stage: dev, service: payment}
    argocd: {application: payment}
    onChange: {sequence: delivery}
    timeout: 3m
  - match: {project: shop, stage: dev}
    argocd: {application: "\${service}"}
    timeout: 3m
`;

/**
 * How long a test waits for the `.finished` of a delivery that syncs (the sandbox's default is 15 s): the
 * never-ready Deployment alone needs its 15 s progress deadline after the sync. Below the targets' 3m
 * timeout, so a `fail` that arrives came from Argo CD's state, not from the service's timeout.
 */
const DELIVERY_MS = 120_000;

const IMAGE = (name: string, tag: string) => `docker.io/keptnexamples/${name}:${tag}`;

describe('real argocd: deliveries by the service as shipped, against a real Argo CD (server, repo-server, controller, notifications)', function () {
  this.timeout(300_000);
  let tier: ArgoCdTier;
  let service: RunningService;
  const services: RunningService[] = [];

  before(async function () {
    this.timeout(600_000);
    tier = await ArgoCdTier.start();
    tier.repo.commit('first versions', {
      'carts/deployment.yaml': deployment({
        name: 'carts',
        image: IMAGE('carts', '0.13.1'),
        externalUrl: 'https://carts.shop.example.com',
      }),
      'stuck/deployment.yaml': deployment({
        name: 'stuck',
        image: IMAGE('stuck', '1.0.0'),
        nodeName: 'no-such-node',
        progressDeadlineSeconds: 15,
      }),
      'invalid/deployment.yaml': deployment({ name: 'invalid' }),
      'payment/deployment.yaml': deployment({ name: 'payment', image: IMAGE('payment', '1.0.0') }),
      'shipping/deployment.yaml': deployment({ name: 'shipping', image: IMAGE('shipping', '1.0.0') }),
    });
    await tier.applyApplication({ name: 'carts', path: 'carts' });
    await tier.applyApplication({ name: 'stuck', path: 'stuck' });
    await tier.applyApplication({ name: 'invalid', path: 'invalid' });
    tier.sandbox.controlPlane.setShipyard('shop', { dev: { delivery: ['deliver'] } });
    service = await tier.startService(TARGETS(tier.serverUrl), {
      ARGOCD_WRONG_TOKEN: 'not-a-token-of-this-argocd',
    });
    services.push(service);
  });

  after(async function () {
    this.timeout(120_000);
    await tier?.stop();
  });

  afterEach(function () {
    // The cluster's logs are kept after a failure: the service's output goes with them.
    if (this.currentTest?.state === 'failed' && tier) {
      services.forEach((s, i) =>
        writeFileSync(join(tier.cluster.logDir, `keptn-gitops-service-argocd-${i}.log`), s.proc.output),
      );
    }
    const crashed = tier?.argocd.crashed() ?? [];
    if (crashed.length) throw new Error(`Argo CD components died:\n${crashed.join('\n')}`);
  });

  describe('push: a deliver task syncs the application', () => {
    it('passes only after the real operation finished, Synced and Healthy, with the revision, images and URLs', async () => {
      const revision = tier.repo.commit('carts 0.13.2', {
        'carts/deployment.yaml': deployment({
          name: 'carts',
          image: IMAGE('carts', '0.13.2'),
          externalUrl: 'https://carts.shop.example.com',
        }),
      });
      const trigger = tier.sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'carts' });
      const finished = await tier.sandbox.deliver(trigger, DELIVERY_MS);
      expect(finished.data, finished.data.message).to.include({ status: 'succeeded', result: 'pass' });
      const gitops = finished.data.gitops as Record<string, unknown>;
      expect(gitops).to.include({
        tool: 'argocd',
        target: 'Application/argocd/carts',
        instance: 'default',
        revision,
      });
      expect(gitops.images).to.deep.equal([IMAGE('carts', '0.13.2')]);
      const deploymentData = finished.data.deployment as Record<string, unknown>;
      expect(deploymentData.deploymentURIsPublic).to.deep.equal(['https://carts.shop.example.com']);
      expect(deploymentData.gitCommit).to.equal(revision);

      const app = await (await tier.admin()).getApplication('carts');
      expect(app.status?.sync?.status).to.equal('Synced');
      expect(app.status?.health?.status).to.equal('Healthy');
      const state = app.status!.operationState as OperationState;
      expect(state).to.include({ phase: 'Succeeded' });
      expect(state.syncResult?.revision).to.equal(revision);
      expect(state.operation?.info).to.deep.include.members([
        { name: 'shkeptncontext', value: trigger.shkeptncontext },
        { name: 'triggeredid', value: trigger.id },
      ]);
      expect(Date.parse(gitops.finishedAt as string)).to.be.at.least(Date.parse(state.finishedAt!));
      expect(tier.sandbox.answers(trigger).started).to.have.length(1);
    });

    it('logs in with username and password, and logs in again when Argo CD rejects the session', async () => {
      const first = await tier.sandbox.deliver(
        tier.sandbox.taskTrigger({ project: 'shop', stage: 'staging', service: 'carts' }),
        DELIVERY_MS,
      );
      expect(first.data, first.data.message).to.include({ status: 'succeeded', result: 'pass' });
      expect((first.data.gitops as Record<string, unknown>).instance).to.equal('login');
      // A session issued before the account's passwordMtime is rejected with 401, as after
      // `argocd account update-password`; the password itself stays the same here.
      const earlier = await ArgoCdApi.login(tier.serverUrl, LOGIN_ACCOUNT, tier.loginPassword);
      const issuedIn = Math.floor(Date.now() / 1000);
      await eventually(() => Math.floor(Date.now() / 1000) > issuedIn, 3000, 50);
      await tier.argocd.patchSecret('argocd-secret', {
        [`accounts.${LOGIN_ACCOUNT}.passwordMtime`]: new Date(Math.floor(Date.now() / 1000) * 1000)
          .toISOString()
          .replace('.000Z', 'Z'),
      });
      await eventually(
        () =>
          earlier.getApplication('carts').then(
            () => false,
            (err: unknown) => err instanceof ArgoCdApiError && err.status === 401,
          ),
        30_000,
        500,
      );
      const second = await tier.sandbox.deliver(
        tier.sandbox.taskTrigger({ project: 'shop', stage: 'staging', service: 'carts' }),
        DELIVERY_MS,
      );
      expect(second.data, second.data.message).to.include({ status: 'succeeded', result: 'pass' });
      expect(service.proc.output).to.include('Argo CD session rejected, logging in again');
    });
  });

  describe('an auto-sync already running when the trigger arrives (onRunningOperation)', () => {
    /** orders: a gate Deployment in wave 0 whose Pods wait for node `gate-<step>`, the app in wave 1. */
    const ordersFiles = (step: string, tag: string) => ({
      'orders/gate.yaml': deployment({
        name: 'orders-gate',
        image: IMAGE('gate', step),
        nodeName: `gate-${step}`,
        wave: 0,
      }),
      'orders/deployment.yaml': deployment({ name: 'orders', image: IMAGE('orders', tag), wave: 1 }),
    });
    let admin: ArgoCdApi;

    /** Commits a new version and waits until the auto-sync of it runs, held at its first wave. */
    async function heldAutoSync(step: string, tag: string): Promise<string> {
      const revision = tier.repo.commit(`orders ${tag}`, ordersFiles(step, tag));
      await eventually(
        async () => {
          const app = await admin.refresh('orders');
          const state = app.status?.operationState;
          return (
            state?.phase === 'Running' &&
            state.operation?.initiatedBy?.automated === true &&
            state.operation.sync?.revision === revision
          );
        },
        90_000,
        1000,
      );
      return revision;
    }

    const release = (step: string) => tier.cluster.addNode(`gate-${step}`);

    async function settled(revision: string): Promise<Application> {
      return eventually(
        async () => {
          const app = await admin.getApplication('orders');
          const state = app.status?.operationState;
          if (
            app.operation ||
            state?.phase !== 'Succeeded' ||
            state.syncResult?.revision !== revision ||
            app.status?.health?.status !== 'Healthy'
          )
            throw new Error(
              `orders not settled: ${JSON.stringify(state?.phase)} ${app.status?.health?.status}`,
            );
          return app;
        },
        90_000,
        1000,
      );
    }

    before(async () => {
      admin = await tier.admin();
      const revision = tier.repo.commit('orders 1.0.0', ordersFiles('initial', '1.0.0'));
      await release('initial');
      await tier.applyApplication({ name: 'orders', path: 'orders', automated: true });
      await settled(revision);
    });

    it('wait: follows the running auto-sync and passes with what it deployed, syncing nothing itself', async () => {
      const revision = await heldAutoSync('wait', '1.1.0');
      const trigger = tier.sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'orders-wait' });
      await tier.sandbox.publish(trigger);
      await eventually(
        () =>
          service.proc.lines.some(
            (l) => l.includes(trigger.id) && l.includes('waiting for the running Argo CD operation to end'),
          ),
        30_000,
        100,
      );
      await release('wait');
      const finished = await tier.sandbox.finished(trigger, 120_000);
      expect(finished.data, finished.data.message).to.include({ status: 'succeeded', result: 'pass' });
      expect((finished.data.gitops as Record<string, unknown>).revision).to.equal(revision);
      const app = await settled(revision);
      expect(app.status!.operationState!.operation!.initiatedBy).to.include({ automated: true });
      expect(app.status!.operationState!.operation!.info ?? []).to.not.deep.include({
        name: 'triggeredid',
        value: trigger.id,
      });
    });

    it('terminate: ends the auto-sync, then passes with its own sync', async () => {
      const stream = new ApplicationStream(tier.serverUrl, admin.token, 'orders');
      try {
        const revision = await heldAutoSync('terminate', '1.2.0');
        const trigger = tier.sandbox.taskTrigger({
          project: 'shop',
          stage: 'dev',
          service: 'orders-terminate',
        });
        await tier.sandbox.publish(trigger);
        await eventually(() => stream.views.some((v) => v.triggeredid === trigger.id), 60_000, 100);
        await release('terminate');
        const finished = await tier.sandbox.finished(trigger, 120_000);
        expect(finished.data, finished.data.message).to.include({ status: 'succeeded', result: 'pass' });
        const app = await settled(revision);
        expect(app.status!.operationState!.operation!.info).to.deep.include({
          name: 'triggeredid',
          value: trigger.id,
        });
        const automatedEnd = stream
          .transitions()
          .find((v) => v.automated && (v.phase === 'Failed' || v.phase === 'Error'));
        expect(automatedEnd, JSON.stringify(stream.transitions(), null, 1)).to.not.equal(undefined);
        expect(stream.transitions().some((v) => v.automated && v.phase === 'Terminating')).to.equal(true);
      } finally {
        await stream.close();
      }
    });

    it('fail: answers errored naming the automated sync, and leaves it running', async () => {
      const revision = await heldAutoSync('fail', '1.3.0');
      const finished = await tier.sandbox.deliver(
        tier.sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'orders-fail' }),
        60_000,
      );
      expect(finished.data).to.include({ status: 'errored', result: 'fail' });
      expect(finished.data.message)
        .to.include('another operation is already in progress')
        .and.to.include('automated sync');
      const app = await admin.getApplication('orders');
      expect(app.status?.operationState?.phase).to.equal('Running');
      await release('fail');
      await settled(revision);
    });
  });

  describe('pull: Argo CD Notifications with the triggers and templates of docs/argocd', () => {
    it('a new commit goes OutOfSync and starts the Keptn sequence once, with the revision; its deliver task syncs that revision', async () => {
      const admin = await tier.admin();
      // Deployed once by an operator, then subscribed as docs/argocd says.
      await tier.applyApplication({ name: 'payment', path: 'payment' });
      await admin.sync('payment');
      await eventually(
        async () => {
          const app = await admin.getApplication('payment');
          return (
            app.status?.operationState?.phase === 'Succeeded' &&
            app.status.sync?.status === 'Synced' &&
            app.status.health?.status === 'Healthy'
          );
        },
        90_000,
        1000,
      );
      await tier.applyApplication({ name: 'payment', path: 'payment', notifications: true });

      const revision = tier.repo.commit('payment 1.1.0', {
        'payment/deployment.yaml': deployment({ name: 'payment', image: IMAGE('payment', '1.1.0') }),
      });
      const sequences = () =>
        tier.sandbox.controlPlane
          .events({ type: 'sh.keptn.event.dev.delivery.triggered' })
          .filter((e) => (e.data.gitops as { revision?: string } | undefined)?.revision === revision);
      const [sequence] = (await eventually(
        () => sequences().length > 0 && sequences(),
        90_000,
        250,
      )) as KeptnEvent[];
      expect(sequence!.data).to.include({ project: 'shop', stage: 'dev', service: 'payment' });
      expect(sequence!.data.gitops).to.include({
        tool: 'argocd',
        target: 'Application/argocd/payment',
        revision,
        stage: 'dev',
      });

      // The control plane runs the sequence: its deliver task syncs exactly that revision.
      const deliver = await eventually(
        () =>
          tier.sandbox.controlPlane.events({
            type: 'sh.keptn.event.deliver.triggered',
            shkeptncontext: sequence!.shkeptncontext,
          })[0]!,
        30_000,
        100,
      );
      const finished = await tier.sandbox.finished(deliver, 120_000);
      expect(finished.data, finished.data.message).to.include({ status: 'succeeded', result: 'pass' });
      expect((finished.data.gitops as Record<string, unknown>).revision).to.equal(revision);
      // Argo CD refreshed the application again since (reconciliation every 10 s): still one sequence.
      const since = Date.now();
      await eventually(
        async () => Date.parse((await admin.getApplication('payment')).status?.reconciledAt ?? '0') > since,
        60_000,
        1000,
      );
      expect(sequences()).to.have.length(1);
    });

    it('the completion notification wakes a running delivery (its watch stream stalled)', async () => {
      const admin = await tier.admin();
      await tier.applyApplication({ name: 'shipping', path: 'shipping' });
      await admin.sync('shipping');
      await eventually(
        async () => {
          const app = await admin.getApplication('shipping');
          return (
            app.status?.operationState?.phase === 'Succeeded' &&
            app.status.sync?.status === 'Synced' &&
            app.status.health?.status === 'Healthy'
          );
        },
        90_000,
        1000,
      );
      await tier.applyApplication({ name: 'shipping', path: 'shipping', notifications: true });
      const revision = tier.repo.commit('shipping 1.1.0', {
        'shipping/deployment.yaml': deployment({ name: 'shipping', image: IMAGE('shipping', '1.1.0') }),
      });
      // Nothing the watch stream sends reaches the service now: only a wake-up can finish the delivery.
      tier.proxy.stallStreams();
      try {
        const trigger = tier.sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'shipping' });
        const finished = await tier.sandbox.deliver(trigger, 120_000);
        expect(finished.data, finished.data.message).to.include({ status: 'succeeded', result: 'pass' });
        expect((finished.data.gitops as Record<string, unknown>).revision).to.equal(revision);
        const woken = service.proc.lines.filter(
          (l) => l.includes('waking its follower') && l.includes('Application/argocd/shipping'),
        );
        expect(woken.join('\n')).to.include('on-deployed');
      } finally {
        tier.proxy.resume();
      }
    });
  });

  describe('a restart of the service mid-sync', () => {
    it('finishes the delivery from its record on the real API server: one .started, one .finished, one sync', async () => {
      const admin = await tier.admin();
      const stream = new ApplicationStream(tier.serverUrl, admin.token, 'carts');
      try {
        const revision = tier.repo.commit('carts 0.14.0', {
          'carts/deployment.yaml': deployment({
            name: 'carts',
            image: IMAGE('carts', '0.14.0'),
            externalUrl: 'https://carts.shop.example.com',
            nodeName: 'gate-restart',
          }),
        });
        const trigger = tier.sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'carts' });
        await tier.sandbox.publish(trigger);
        await eventually(
          () =>
            stream.views.some(
              (v) => v.triggeredid === trigger.id && v.phase === 'Succeeded' && v.health === 'Progressing',
            ),
          90_000,
          100,
        );
        const records = await tier.sandbox.deliveryRecords();
        expect(records.map((r) => r.triggeredid)).to.include(trigger.id);

        service = await tier.restartService(service, 'SIGTERM');
        services.push(service);
        await tier.cluster.addNode('gate-restart');
        const finished = await tier.sandbox.finished(trigger, 120_000);
        expect(finished.data, finished.data.message).to.include({ status: 'succeeded', result: 'pass' });
        expect((finished.data.gitops as Record<string, unknown>).revision).to.equal(revision);
        expect(tier.sandbox.answers(trigger).started).to.have.length(1);
        // The record stays as a tombstone (phase finished), so that a late duplicate is recognised.
        await eventually(
          async () => {
            const record = (await tier.sandbox.deliveryRecords()).find((r) => r.triggeredid === trigger.id);
            expect(record?.phase).to.equal('finished');
          },
          30_000,
          300,
        );
        expect(tier.sandbox.answers(trigger).finished).to.have.length(1);
        expect(stream.operationsOf(trigger.id), JSON.stringify(stream.transitions(), null, 1)).to.equal(1);
      } finally {
        await stream.close();
      }
    });
  });

  describe('failures', () => {
    it('fails with Argo CD health message when the Deployment never becomes ready', async () => {
      const finished = await tier.sandbox.deliver(
        tier.sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'stuck' }),
        DELIVERY_MS,
      );
      expect(finished.data).to.include({ status: 'succeeded', result: 'fail' });
      expect(finished.data.message)
        .to.match(/Degraded/)
        .and.to.include('exceeded its progress deadline');
      // Argo CD 3, as the simulator has it: no message on the application's health; the
      // Deployment's health, filled in by argocd-server from the resource tree, says why.
      const app = (await (await tier.admin()).getApplication('stuck')) as Application & {
        status: { resourceHealthSource?: string; health?: { message?: string } };
      };
      expect(app.status.health).to.include({ status: 'Degraded' });
      expect(app.status.health?.message).to.equal(undefined);
      expect(app.status.resourceHealthSource).to.equal('appTree');
      const stuck = app.status.resources?.find((r) => r.kind === 'Deployment' && r.name === 'stuck');
      expect(stuck?.health).to.deep.equal({
        status: 'Degraded',
        message: 'Deployment "stuck" exceeded its progress deadline',
      });
    });

    it('fails with the sync message when a manifest is invalid', async () => {
      const finished = await tier.sandbox.deliver(
        tier.sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'invalid' }),
        DELIVERY_MS,
      );
      expect(finished.data).to.include({ status: 'succeeded', result: 'fail' });
      const app = await (await tier.admin()).getApplication('invalid');
      const state = app.status!.operationState!;
      expect(state.phase).to.be.oneOf(['Failed', 'Error']);
      expect(finished.data.message).to.include(state.message!);
    });

    it('answers errored for an application that does not exist, without retrying', async () => {
      const before = Date.now();
      const finished = await tier.sandbox.deliver(
        tier.sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'ghost' }),
        30_000,
      );
      expect(finished.data).to.include({ status: 'errored', result: 'fail' });
      expect(finished.data.message).to.include("application 'ghost'");
      expect(Date.now() - before).to.be.below(15_000);
    });

    it('answers errored for a wrong token, without retrying', async () => {
      const before = Date.now();
      const finished = await tier.sandbox.deliver(
        tier.sandbox.taskTrigger({ project: 'shop', stage: 'dev', service: 'badauth' }),
        30_000,
      );
      expect(finished.data).to.include({ status: 'errored', result: 'fail' });
      expect(finished.data.message).to.include('rejected the credentials');
      expect(Date.now() - before).to.be.below(15_000);
    });
  });

  // Mocha runs a suite's own tests before its nested suites: in a suite of its own, last, this scan
  // reads the output of all of them.
  describe('after every scenario', () => {
    it('never wrote the Argo CD token, password or webhook token to its output', () => {
      const output = services.map((s) => s.proc.output).join('\n');
      expect(output.length).to.be.above(0);
      for (const secret of [tier.apiToken, tier.loginPassword, tier.webhookToken])
        expect(output.includes(secret)).to.equal(false);
    });
  });
});
