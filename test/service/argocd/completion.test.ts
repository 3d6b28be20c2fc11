import { expect } from 'chai';
import type { Application, OperationState } from '../../../service/deployers/argocd/application.js';
import {
  degradedResources,
  failedResources,
  judgeFinished,
  operationFinished,
  whereItStood,
} from '../../../service/deployers/argocd/completion.js';

const SHA = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const OTHER = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const FINISHED = '2026-05-01T10:00:10Z';
const OURS = { info: [{ name: 'triggeredid', value: 'tid-1' }] };

/** An application whose operation finished as `state` says, re-compared after it, with `health`. */
function app(
  state: Partial<OperationState> = {},
  health = 'Healthy',
  extra: Partial<Application> = {},
): Application {
  return {
    metadata: { name: 'carts', namespace: 'argocd' },
    ...extra,
    status: {
      sync: { status: 'Synced', revision: SHA },
      health: { status: health },
      reconciledAt: '2026-05-01T10:00:11Z',
      operationState: {
        operation: OURS,
        phase: 'Succeeded',
        message: 'successfully synced (all tasks run)',
        startedAt: '2026-05-01T10:00:00Z',
        finishedAt: FINISHED,
        syncResult: { revision: SHA },
        ...state,
      },
      ...extra.status,
    },
  };
}

/** Each state of a followed Argo CD application and what the deployer concludes from it. */
describe('Argo CD completion', () => {
  describe('operationFinished', () => {
    it('is true for a finished operation re-compared since', () => {
      expect(operationFinished(app())).to.equal(true);
      expect(operationFinished(app(), 'tid-1')).to.equal(true);
    });

    it('is true when re-compared at the very moment it finished', () => {
      expect(operationFinished(app({}, 'Healthy', { status: { reconciledAt: FINISHED } }))).to.equal(true);
    });

    it('is false while an operation is pending or running', () => {
      expect(operationFinished(app({}, 'Healthy', { operation: { sync: {} } }))).to.equal(false);
      expect(operationFinished(app({ finishedAt: undefined, phase: 'Running' }))).to.equal(false);
      expect(operationFinished(app({ finishedAt: undefined, phase: 'Terminating' }))).to.equal(false);
    });

    it('is false without an operation state, or before the status was re-compared', () => {
      expect(operationFinished(app({}, 'Healthy', { status: { operationState: null } }))).to.equal(false);
      expect(operationFinished(app({}, 'Healthy', { status: { reconciledAt: undefined } }))).to.equal(false);
      expect(
        operationFinished(app({}, 'Healthy', { status: { reconciledAt: '2026-05-01T10:00:09Z' } })),
      ).to.equal(false);
    });

    it('is false for an operation that is not ours when a trigger id is given', () => {
      expect(operationFinished(app(), 'tid-2')).to.equal(false);
      expect(operationFinished(app({ operation: { initiatedBy: { automated: true } } }), 'tid-1')).to.equal(
        false,
      );
    });
  });

  describe('judgeFinished', () => {
    it('passes on Succeeded, Healthy, with the synced revision', () => {
      expect(judgeFinished(app(), SHA)).to.include({ state: 'done', result: 'pass', revision: SHA });
      expect(judgeFinished(app(), undefined)).to.include({ state: 'done', result: 'pass', revision: SHA });
      expect(judgeFinished(app(), SHA.slice(0, 7))).to.include({ state: 'done', result: 'pass' });
    });

    it('fails on phase Failed with the message and the resources that failed', () => {
      const failed = app({
        phase: 'Failed',
        message: 'one or more objects failed to apply',
        syncResult: {
          revision: SHA,
          resources: [
            { kind: 'Deployment', name: 'carts', status: 'SyncFailed', message: 'invalid image' },
            { kind: 'Service', name: 'carts', status: 'Synced' },
            { kind: 'Job', name: 'migrate', status: 'SyncFailed' },
          ],
        },
      });
      expect(judgeFinished(failed, undefined)).to.include({
        state: 'done',
        result: 'fail',
        reason:
          'sync Failed: one or more objects failed to apply; Deployment/carts: invalid image; Job/migrate: SyncFailed',
      });
    });

    it('fails on phase Error, even without a message', () => {
      expect(
        judgeFinished(app({ phase: 'Error', message: 'Manifest generation error' }), undefined),
      ).to.include({ state: 'done', result: 'fail', reason: 'sync Error: Manifest generation error' });
      expect(judgeFinished(app({ phase: 'Error', message: undefined }), undefined)).to.include({
        state: 'done',
        result: 'fail',
        reason: 'sync Error: ',
      });
    });

    it('waits on any other phase', () => {
      for (const phase of ['Running', 'Terminating', undefined])
        expect(judgeFinished(app({ phase }), undefined), String(phase)).to.deep.equal({ state: 'waiting' });
    });

    it('fails naming both revisions when another revision was synced, whatever the health', () => {
      expect(judgeFinished(app({ syncResult: { revision: OTHER } }), SHA)).to.include({
        state: 'done',
        result: 'fail',
        revision: OTHER,
        reason: `synced revision ${OTHER} but ${SHA} was requested`,
      });
      expect(judgeFinished(app({ syncResult: { revision: OTHER } }, 'Progressing'), SHA)).to.include({
        state: 'done',
        result: 'fail',
      });
      expect(judgeFinished(app({ syncResult: undefined }), SHA)).to.include({
        state: 'done',
        result: 'fail',
        reason: `synced revision (none) but ${SHA} was requested`,
      });
    });

    it('fails on Degraded with the health message and the degraded resources', () => {
      const degraded = app({}, 'Degraded', {
        status: {
          health: { status: 'Degraded', message: 'rollout stuck' },
          resources: [
            {
              kind: 'Deployment',
              name: 'carts',
              health: { status: 'Degraded', message: 'exceeded its progress deadline' },
            },
            { kind: 'Service', name: 'carts', health: { status: 'Healthy' } },
            { kind: 'StatefulSet', name: 'db', health: { status: 'Degraded' } },
          ],
        },
      });
      expect(judgeFinished(degraded, undefined)).to.include({
        state: 'done',
        result: 'fail',
        reason:
          'health Degraded: rollout stuck; Deployment/carts: exceeded its progress deadline; StatefulSet/db: Degraded',
      });
      expect(judgeFinished(app({}, 'Degraded'), undefined)).to.include({
        state: 'done',
        result: 'fail',
        reason: 'health Degraded',
      });
    });

    it('waits on Progressing, Missing, Suspended, Unknown and no health at all', () => {
      for (const health of ['Progressing', 'Missing', 'Suspended', 'Unknown'])
        expect(judgeFinished(app({}, health), SHA), health).to.deep.equal({ state: 'waiting' });
      expect(judgeFinished(app({}, 'Healthy', { status: { health: undefined } }), SHA)).to.deep.equal({
        state: 'waiting',
      });
    });
  });

  it('lists only failed and degraded resources', () => {
    expect(failedResources(app())).to.deep.equal([]);
    expect(degradedResources(app())).to.deep.equal([]);
  });

  describe('whereItStood', () => {
    it('says when the application was never read', () => {
      expect(whereItStood(undefined)).to.equal('the application was never read');
    });

    it('says phase, message, sync and health', () => {
      expect(
        whereItStood(app({ phase: 'Running', message: 'one or more tasks are running' }, 'Progressing')),
      ).to.equal('operation Running (one or more tasks are running), sync Synced, health Progressing');
      const sick = app({ message: undefined }, 'Degraded', {
        status: { health: { status: 'Degraded', message: 'rollout stuck' } },
      });
      expect(whereItStood(sick)).to.equal(
        'operation Succeeded, sync Synced, health Degraded (rollout stuck)',
      );
    });

    it("names the resources that are not Healthy when the application's health has no message (Argo CD 3)", () => {
      const rollout = app({}, 'Progressing', {
        status: {
          health: { status: 'Progressing' },
          resources: [
            { kind: 'Service', name: 'carts', health: { status: 'Healthy' } },
            {
              kind: 'Deployment',
              name: 'carts',
              health: {
                status: 'Progressing',
                message: 'Waiting for rollout to finish: 0 of 1 updated replicas are available...',
              },
            },
            { kind: 'ConfigMap', name: 'carts' },
          ],
        },
      });
      expect(whereItStood(rollout)).to.equal(
        'operation Succeeded (successfully synced (all tasks run)), sync Synced, health Progressing (Deployment/carts: Waiting for rollout to finish: 0 of 1 updated replicas are available...)',
      );
    });

    it('says an operation was requested but not yet started, and Unknown for what is missing', () => {
      const requested: Application = { metadata: { name: 'carts' }, operation: { sync: {} }, status: {} };
      expect(whereItStood(requested)).to.equal(
        'operation requested, not yet started, sync Unknown, health Unknown',
      );
      expect(whereItStood({ metadata: { name: 'carts' } })).to.equal(
        'operation none, sync Unknown, health Unknown',
      );
    });
  });
});
