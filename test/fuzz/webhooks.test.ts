import { expect } from 'chai';
import fc from 'fast-check';
import { readFixture } from '../support/paths.js';
import { Harness, argoApp, argoBody } from '../service/webhooks/harness.js';
import { mutatedJson } from './mutations.js';

/** Statuses a webhook may answer to an authenticated request: accepted, or a clear client error. */
const CLIENT_ANSWERS = [202, 400, 413];

describe('webhook endpoints under fuzzing', function () {
  this.timeout(60_000);
  let h: Harness;

  before(async () => {
    h = await Harness.start();
  });

  after(() => h.close());

  const arbitraryBody = fc.oneof(fc.string({ maxLength: 200 }), fc.jsonValue({ maxDepth: 3 }));

  it('answers every authenticated Argo CD body with 202 or a clear 4xx, and keeps serving', async () => {
    const seed = argoBody(argoApp());
    await fc.assert(
      fc.asyncProperty(fc.oneof(arbitraryBody, mutatedJson(seed)), async (body) => {
        const res = await h.postArgo(body);
        expect(CLIENT_ANSWERS).to.include(res.status);
        if (res.status === 400)
          expect(((await res.json()) as { problems: string[] }).problems).to.not.be.empty;
        else await res.arrayBuffer();
      }),
      { numRuns: 150 },
    );
    await h.handler.idle();
    expect((await h.postArgo(seed)).status).to.equal(202);
  });

  it('answers every signed Flux body with 202 or a clear 4xx, and keeps serving', async () => {
    const seed = readFixture<Record<string, unknown>>('gitops', 'flux-generic-webhook-event.json');
    await fc.assert(
      fc.asyncProperty(fc.oneof(arbitraryBody, mutatedJson(seed)), async (body) => {
        const res = await h.postFlux(body);
        expect(CLIENT_ANSWERS).to.include(res.status);
        await res.arrayBuffer();
      }),
      { numRuns: 150 },
    );
    await h.handler.idle();
    expect((await h.postFlux(seed)).status).to.equal(202);
  });
});
