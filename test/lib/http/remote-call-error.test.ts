import { inspect } from 'node:util';
import { expect } from 'chai';
import { KeptnApiError, RemoteCallError, isTransientFailure } from '../../../lib/index.js';
import { ArgoApiError } from '../../../service/deployers/argocd/errors.js';
import { toKubeApiError } from '../../../service/kube/kube-errors.js';

const STATUSES = [400, 401, 403, 404, 408, 409, 410, 415, 422, 429, 500, 501, 502, 503, 504];
const TRANSIENT_STATUSES = [408, 429, 500, 502, 503, 504];

const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
const untrusted = Object.assign(new Error('unable to verify the first certificate'), {
  code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
});

/** The same failure as each client's error. */
function asEach(failure: { status?: number; cause?: unknown }): RemoteCallError[] {
  const request = { verb: 'get', resource: 'configmaps', namespace: 'keptn', name: 'x' };
  return [
    toKubeApiError(
      failure.status === undefined ? failure.cause : { statusCode: failure.status, body: '' },
      request,
    ),
    new ArgoApiError({ instance: 'prod', action: 'get', serverMessage: '', ...failure }),
    new KeptnApiError('GET /v1/x failed', { method: 'GET', url: '/v1/x', status: failure.status }, failure),
  ];
}

describe('one rule for transient and terminal failures', () => {
  it('retries 408, 429 and 5xx but 501; every other answer is terminal', () => {
    expect(STATUSES.filter((status) => isTransientFailure({ status }))).to.deep.equal(TRANSIENT_STATUSES);
  });

  it('retries a missing answer (reset, refused), but not a certificate that cannot be verified', () => {
    expect(isTransientFailure({ cause: reset })).to.equal(true);
    expect(isTransientFailure({ cause: refused })).to.equal(true);
    expect(isTransientFailure({ cause: untrusted })).to.equal(false);
  });

  it('is the rule of the Kubernetes, Argo CD and Keptn API errors alike, each naming its system', () => {
    for (const status of STATUSES) {
      const errors = asEach({ status });
      expect(
        errors.map((e) => e.transient),
        `status ${status}`,
      ).to.deep.equal([0, 1, 2].map(() => TRANSIENT_STATUSES.includes(status)));
      expect(errors.map((e) => e.status)).to.deep.equal([status, status, status]);
    }
    for (const [cause, transient] of [
      [reset, true],
      [refused, true],
      [untrusted, false],
    ] as const) {
      expect(
        asEach({ cause }).map((e) => e.transient),
        cause.message,
      ).to.deep.equal([transient, transient, transient]);
    }
    expect(asEach({ status: 503 }).map((e) => [e instanceof RemoteCallError, e.system])).to.deep.equal([
      [true, 'Kubernetes API'],
      [true, 'Argo CD'],
      [true, 'Keptn API'],
    ]);
  });

  it('keeps the failure it wraps as its cause, and shows no empty cause in a log', () => {
    const withCause = new RemoteCallError('Kubernetes API', 'get configmaps/x failed', { cause: reset });
    const answered = new RemoteCallError('Kubernetes API', 'get configmaps/x: 403 Forbidden', {
      status: 403,
    });
    expect(withCause.cause).to.equal(reset);
    expect(inspect(withCause)).to.contain('ECONNRESET');
    expect(inspect(answered)).not.to.contain('[cause]');
    expect(String(answered)).to.equal('RemoteCallError: get configmaps/x: 403 Forbidden');
  });
});
