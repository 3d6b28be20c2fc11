import { expect } from 'chai';
import { DeployError } from '../../../service/deployers/deployer.js';
import { ArgoApiError, type ArgoApiErrorOptions } from '../../../service/deployers/argocd/errors.js';
import {
  nothingToTerminate,
  SYNC_REFUSALS,
  syncRefusal,
  toDeployError,
} from '../../../service/deployers/argocd/refusals.js';

const CTX = { application: 'carts', instance: 'prod', target: 'Application/argocd/carts' };
const WHERE = "application 'carts' on Argo CD instance 'prod'";

function apiError(options: Partial<ArgoApiErrorOptions>): ArgoApiError {
  return new ArgoApiError({
    instance: 'prod',
    action: "sync of application 'carts'",
    serverMessage: '',
    ...options,
  });
}

function deployError(err: unknown): DeployError {
  const mapped = toDeployError(err, CTX);
  expect(mapped).to.be.instanceOf(DeployError);
  expect((mapped as DeployError).target).to.equal(CTX.target);
  expect((mapped as DeployError).cause, 'the Argo CD error stays attached').to.equal(err);
  return mapped as DeployError;
}

/** How each Argo CD API failure is told to Keptn. */
describe('Argo CD refusals', () => {
  describe('syncRefusal', () => {
    it('recognises an operation in progress, a pinned auto-sync and a sync window by status and text', () => {
      expect(
        syncRefusal(apiError({ status: 400, serverMessage: 'another operation is already in progress' })),
      ).to.equal(SYNC_REFUSALS.operationInProgress);
      expect(
        syncRefusal(
          apiError({ status: 400, serverMessage: 'Cannot sync to abc: auto-sync currently set to main' }),
        ),
      ).to.equal(SYNC_REFUSALS.autoSyncPinned);
      expect(
        syncRefusal(apiError({ status: 403, serverMessage: 'cannot sync: blocked by sync window' })),
      ).to.equal(SYNC_REFUSALS.syncWindow);
    });

    it('needs both the status and the text', () => {
      expect(
        syncRefusal(apiError({ status: 409, serverMessage: 'another operation is already in progress' })),
      ).to.equal(undefined);
      expect(
        syncRefusal(apiError({ status: 403, serverMessage: 'auto-sync currently set to main' })),
      ).to.equal(undefined);
      expect(syncRefusal(apiError({ status: 400, serverMessage: 'blocked by sync window' }))).to.equal(
        undefined,
      );
      expect(syncRefusal(apiError({ status: 400, serverMessage: 'invalid revision' }))).to.equal(undefined);
      expect(syncRefusal(new Error('another operation is already in progress'))).to.equal(undefined);
    });
  });

  describe('nothingToTerminate', () => {
    it('recognises TerminateOperation\'s 400 "No operation is in progress", by status and text', () => {
      expect(
        nothingToTerminate(apiError({ status: 400, serverMessage: 'No operation is in progress' })),
      ).to.equal(true);
      expect(
        nothingToTerminate(apiError({ status: 409, serverMessage: 'No operation is in progress' })),
      ).to.equal(false);
      expect(nothingToTerminate(apiError({ status: 400, serverMessage: 'invalid application' }))).to.equal(
        false,
      );
      expect(nothingToTerminate(new Error('No operation is in progress'))).to.equal(false);
    });
  });

  describe('toDeployError', () => {
    it('passes other errors through', () => {
      const other = new Error('boom');
      expect(toDeployError(other, CTX)).to.equal(other);
    });

    it('explains a pinned auto-sync and how to fix it, naming the pinned revision', () => {
      const err = deployError(
        apiError({ status: 400, serverMessage: 'Cannot sync to abc: auto-sync currently set to main' }),
      );
      expect(err.kind).to.equal('refused');
      expect(err.message).to.equal(
        `Argo CD refused to sync ${WHERE}: Cannot sync to abc: auto-sync currently set to main. Automated sync pins the application to its targetRevision (main); disable automated sync on the application, or request its targetRevision`,
      );
    });

    it('explains a pinned auto-sync without naming a revision when the message has none', () => {
      const err = deployError(apiError({ status: 400, serverMessage: 'auto-sync currently set to' }));
      expect(err.message).to.equal(
        `Argo CD refused to sync ${WHERE}: auto-sync currently set to. Automated sync pins the application to its targetRevision; disable automated sync on the application, or request its targetRevision`,
      );
    });

    it('refuses on a sync window', () => {
      const err = deployError(
        apiError({ status: 403, serverMessage: 'cannot sync: blocked by sync window' }),
      );
      expect(err.kind).to.equal('refused');
      expect(err.message).to.equal(
        `Argo CD refused to sync ${WHERE}: 403 cannot sync: blocked by sync window (a sync window denies syncs now)`,
      );
    });

    it('reports rejected credentials by status 401 or the unauthenticated code', () => {
      const byStatus = deployError(apiError({ status: 401, serverMessage: 'invalid session' }));
      expect(byStatus.kind).to.equal('auth');
      expect(byStatus.message).to.equal(`Argo CD rejected the credentials for ${WHERE}: 401 invalid session`);
      const byCode = deployError(apiError({ grpcCode: 16, serverMessage: 'no session information' }));
      expect(byCode.kind).to.equal('auth');
      expect(byCode.message).to.equal(
        `Argo CD rejected the credentials for ${WHERE}: no session information`,
      );
    });

    it('reports 403 as access denied, 404 as not found', () => {
      const denied = deployError(apiError({ status: 403, serverMessage: 'permission denied' }));
      expect(denied.kind).to.equal('forbidden');
      expect(denied.message).to.equal(
        `Argo CD denied access to ${WHERE}: 403 permission denied (the application does not exist, or the account may not see or sync it)`,
      );
      const missing = deployError(
        apiError({ status: 404, serverMessage: 'applications.argoproj.io "carts" not found' }),
      );
      expect(missing.kind).to.equal('not-found');
      expect(missing.message).to.equal(`${WHERE} not found: 404 applications.argoproj.io "carts" not found`);
    });

    it('reports transient failures and missing answers as unreachable', () => {
      const transient = deployError(apiError({ status: 503, serverMessage: 'unavailable' }));
      expect(transient.kind).to.equal('unreachable');
      expect(transient.message).to.equal(
        `Argo CD API unreachable for ${WHERE}: Argo CD instance 'prod': sync of application 'carts' failed: 503 unavailable`,
      );
      expect(deployError(apiError({ serverMessage: 'ECONNREFUSED' })).kind).to.equal('unreachable');
    });

    it('reports another 400 as refused and anything else as invalid', () => {
      const refused = deployError(apiError({ status: 400, serverMessage: 'invalid revision' }));
      expect(refused.kind).to.equal('refused');
      expect(refused.message).to.equal(`Argo CD refused the request for ${WHERE}: 400 invalid revision`);
      const invalid = deployError(apiError({ status: 422, serverMessage: 'unprocessable' }));
      expect(invalid.kind).to.equal('invalid');
      expect(invalid.message).to.equal(
        `Argo CD call for ${WHERE} failed: Argo CD instance 'prod': sync of application 'carts' failed: 422 unprocessable`,
      );
    });
  });
});
