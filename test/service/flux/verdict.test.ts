import { expect } from 'chai';
import type { Condition, FluxObject } from '../../../service/deployers/flux/flux-resources.js';
import { judge, type FollowContext } from '../../../service/deployers/flux/verdict.js';
import type { FluxResourceKind } from '../../../service/gitops/identity.js';

const TOKEN = '2026-05-01T10:00:00.123456001Z';
const EARLIER = '2026-05-01T09:59:00.000000000Z';
const LATER = '2026-05-01T10:00:05.000000000Z';
const REV = 'main@sha1:1111111111111111111111111111111111111111';
const OLD = 'main@sha1:0000000000000000000000000000000000000000';

function ready(status: Condition['status'], extra: Partial<Condition> = {}): Condition {
  return {
    type: 'Ready',
    status,
    reason: 'ReconciliationSucceeded',
    message: `Applied revision: ${REV}`,
    ...extra,
  };
}

/** A Kustomization after a reconcile of `handled`: Ready=True at generation 2 with REV, unless changed. */
function object(
  status: Partial<NonNullable<FluxObject['status']>> = {},
  spec: FluxObject['spec'] = {},
  generation = 2,
): FluxObject {
  return {
    metadata: { name: 'podinfo', namespace: 'flux-system', generation },
    spec,
    status: {
      observedGeneration: 2,
      lastHandledReconcileAt: TOKEN,
      lastAppliedRevision: REV,
      lastAttemptedRevision: REV,
      conditions: [ready('True')],
      ...status,
    },
  };
}

function ctx(extra: Partial<FollowContext> = {}, kind: FluxResourceKind = 'Kustomization'): FollowContext {
  return { kind, target: `${kind}/flux-system/podinfo`, token: TOKEN, previousHandled: EARLIER, ...extra };
}

/** Each state of a followed Flux object and what the deployer concludes from it. */
describe('Flux verdict', () => {
  describe('waits', () => {
    it('until our token is handled, keeping the Ready message for a timeout', () => {
      const verdict = judge(
        object({
          lastHandledReconcileAt: EARLIER,
          conditions: [ready('Unknown', { message: 'Reconciliation in progress' })],
        }),
        ctx(),
      );
      expect(verdict).to.deep.equal({ state: 'waiting', readyMessage: 'Reconciliation in progress' });
    });

    it('while nothing was handled yet', () => {
      expect(judge(object({ lastHandledReconcileAt: undefined }), ctx()).state).to.equal('waiting');
      expect(judge(object({ lastHandledReconcileAt: '' }), ctx()).state).to.equal('waiting');
    });

    it('while the handled token is still the one from before our patch, even when it cannot be ordered', () => {
      expect(
        judge(object({ lastHandledReconcileAt: 'before' }), ctx({ previousHandled: 'before' })).state,
      ).to.equal('waiting');
    });

    it('on an unorderable token when the token from before our patch is unknown (resuming)', () => {
      expect(
        judge(object({ lastHandledReconcileAt: 'someone-else' }), ctx({ previousHandled: undefined })).state,
      ).to.equal('waiting');
    });

    it('while Ready is Unknown or missing', () => {
      expect(judge(object({ conditions: [ready('Unknown')] }), ctx()).state).to.equal('waiting');
      expect(judge(object({ conditions: [] }), ctx())).to.deep.equal({
        state: 'waiting',
        readyMessage: undefined,
      });
    });

    it('while Reconciling=True, even with Ready=True', () => {
      expect(
        judge(
          object({
            conditions: [ready('True'), { type: 'Reconciling', status: 'True', reason: 'Progressing' }],
          }),
          ctx(),
        ).state,
      ).to.equal('waiting');
    });

    it('while the status is of an older generation', () => {
      expect(judge(object({ observedGeneration: 1 }), ctx()).state).to.equal('waiting');
    });
  });

  describe('decides when our token or a later one was handled', () => {
    it('passes on our token', () => {
      expect(judge(object(), ctx())).to.include({ state: 'done', result: 'pass', revision: REV });
    });

    it('passes on a later token (a newer reconcile overtook ours)', () => {
      expect(judge(object({ lastHandledReconcileAt: LATER }), ctx())).to.include({
        state: 'done',
        result: 'pass',
      });
    });

    it('counts an unorderable token as later once it changed since our patch', () => {
      expect(judge(object({ lastHandledReconcileAt: 'someone-else' }), ctx())).to.include({
        state: 'done',
        result: 'pass',
      });
    });

    it('does not count an earlier token as ours', () => {
      expect(
        judge(object({ lastHandledReconcileAt: '2026-05-01T10:00:00.000000000Z' }), ctx()).state,
      ).to.equal('waiting');
    });

    it('fails at once on Stalled=True with its reason and message', () => {
      const verdict = judge(
        object({
          conditions: [
            ready('False', { message: 'ready says' }),
            { type: 'Stalled', status: 'True', reason: 'BuildFailed', message: 'path not found' },
          ],
        }),
        ctx(),
      );
      expect(verdict).to.deep.equal({
        state: 'done',
        result: 'fail',
        message: 'Kustomization/flux-system/podinfo is stalled (BuildFailed): path not found',
      });
    });

    it('describes a Stalled condition without reason or message by the Ready message', () => {
      const verdict = judge(
        object({
          conditions: [ready('False', { message: 'ready says' }), { type: 'Stalled', status: 'True' }],
        }),
        ctx(),
      );
      expect(verdict).to.include({
        message: 'Kustomization/flux-system/podinfo is stalled (Stalled): ready says',
      });
    });

    it('ignores Stalled=False', () => {
      expect(
        judge(object({ conditions: [ready('True'), { type: 'Stalled', status: 'False' }] }), ctx()),
      ).to.include({ result: 'pass' });
    });

    it('fails at once on Ready=False with the reason, message and attempted revision', () => {
      const verdict = judge(
        object({
          lastAttemptedRevision: OLD,
          conditions: [
            ready('False', { reason: 'HealthCheckFailed', message: 'timeout waiting for Deployment' }),
          ],
        }),
        ctx(),
      );
      expect(verdict).to.deep.equal({
        state: 'done',
        result: 'fail',
        message:
          'Kustomization/flux-system/podinfo reconciliation failed (HealthCheckFailed): timeout waiting for Deployment',
        revision: OLD,
      });
    });

    it('names Ready=False without reason or message as Failed', () => {
      expect(judge(object({ conditions: [{ type: 'Ready', status: 'False' }] }), ctx())).to.include({
        message: 'Kustomization/flux-system/podinfo reconciliation failed (Failed):',
      });
    });

    it('fails naming both revisions when another revision was applied', () => {
      const verdict = judge(object({ lastAppliedRevision: OLD }), ctx({ requestedRevision: REV }));
      expect(verdict).to.deep.equal({
        state: 'done',
        result: 'fail',
        message: `Kustomization/flux-system/podinfo applied revision ${OLD}, not the requested revision ${REV}`,
        revision: OLD,
      });
    });

    it('fails when nothing was applied but a revision was requested', () => {
      expect(judge(object({ lastAppliedRevision: undefined }), ctx({ requestedRevision: REV }))).to.include({
        result: 'fail',
        message: `Kustomization/flux-system/podinfo applied revision (none), not the requested revision ${REV}`,
      });
    });

    it('passes with a short SHA of the applied revision', () => {
      expect(judge(object(), ctx({ requestedRevision: '1111111' }))).to.include({
        result: 'pass',
        revision: REV,
      });
    });
  });

  describe('says what a pass means', () => {
    it('a Kustomization without wait or health checks was applied only', () => {
      expect(judge(object(), ctx())).to.include({
        message: `Kustomization/flux-system/podinfo applied revision ${REV} (applied only, not health-checked: the Kustomization sets neither spec.wait nor spec.healthChecks)`,
      });
    });

    it('a Kustomization with spec.wait or health checks passed them', () => {
      for (const spec of [{ wait: true }, { healthChecks: [{ kind: 'Deployment', name: 'podinfo' }] }]) {
        expect(judge(object({}, spec), ctx())).to.include({
          message: `Kustomization/flux-system/podinfo applied revision ${REV}; health checks passed`,
        });
      }
      expect(judge(object({}, { wait: false, healthChecks: [] }), ctx())).to.include({
        message: `Kustomization/flux-system/podinfo applied revision ${REV} (applied only, not health-checked: the Kustomization sets neither spec.wait nor spec.healthChecks)`,
      });
    });

    it('a Kustomization with no applied revision says so', () => {
      expect(judge(object({ lastAppliedRevision: undefined }), ctx())).to.include({
        result: 'pass',
        message:
          'Kustomization/flux-system/podinfo applied revision (unknown) (applied only, not health-checked: the Kustomization sets neither spec.wait nor spec.healthChecks)',
      });
    });

    it('a HelmRelease deployed its chart version, from the deployed history entry', () => {
      const deployed = object({
        history: [{ chartName: 'podinfo', chartVersion: '6.3.5', status: 'deployed' }],
      });
      expect(judge(deployed, ctx({}, 'HelmRelease'))).to.include({
        result: 'pass',
        revision: '6.3.5',
        message: 'HelmRelease/flux-system/podinfo deployed chart podinfo@6.3.5',
      });
      const unnamed = object({ history: [{ chartVersion: '6.3.5', status: 'deployed' }] });
      expect(judge(unnamed, ctx({}, 'HelmRelease'))).to.include({
        message: 'HelmRelease/flux-system/podinfo deployed chart 6.3.5',
      });
      const failed = object({ history: [{ chartName: 'podinfo', chartVersion: '6.3.5', status: 'failed' }] });
      expect(judge(failed, ctx({ requestedRevision: '6.3.5' }, 'HelmRelease'))).to.include({
        result: 'fail',
      });
      expect(judge(object(), ctx({}, 'HelmRelease'))).to.include({
        message: 'HelmRelease/flux-system/podinfo deployed chart (unknown)',
      });
    });

    it('a source stored the artifact of its revision', () => {
      expect(judge(object({ artifact: { revision: REV } }), ctx({}, 'GitRepository'))).to.include({
        result: 'pass',
        revision: REV,
        message: `GitRepository/flux-system/podinfo stored artifact for revision ${REV}`,
      });
      expect(judge(object(), ctx({}, 'GitRepository'))).to.include({
        message: 'GitRepository/flux-system/podinfo stored artifact for revision (unknown)',
      });
    });
  });
});
