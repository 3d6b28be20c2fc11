import { expect } from 'chai';
import { JsonClient, KeptnApiError } from '../../../lib/http/json-client.js';
import { answerJson, pkiForSuite, startHttpsServer, type TestHttpsServer } from '../../support/tls.js';

const TOKEN = 'keptn-tls-secret-token';

describe('JsonClient over TLS', () => {
  const suite = pkiForSuite('json-client-tls-');
  let server: TestHttpsServer;
  let client: JsonClient | undefined;

  beforeEach(async () => {
    server = await startHttpsServer(
      { cert: suite.pki.serverCert, key: suite.pki.serverKey },
      answerJson({ keptnversion: '1.0.0' }),
    );
  });
  afterEach(async () => {
    client?.close();
    await server.close();
    client = undefined;
  });

  it('accepts a certificate from an unknown CA with sslVerify false and sends the token as x-token', async () => {
    client = new JsonClient({ token: TOKEN, sslVerify: false, timeoutMs: 5_000 });
    const res = await client.expectOk(`GET`, `${server.url}/api/v1/metadata`);
    expect(res).to.deep.equal({ status: 200, body: { keptnversion: '1.0.0' } });
    expect(server.seen.map((s) => [s.method, s.url, s.headers['x-token']])).to.deep.equal([
      ['GET', '/api/v1/metadata', TOKEN],
    ]);
  });

  it('refuses a certificate from an unknown CA by default, as a terminal error, without sending or printing the token', async () => {
    client = new JsonClient({ token: { reveal: () => TOKEN }, timeoutMs: 5_000 });
    const err = await client.request('GET', `${server.url}/api/v1/metadata`).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(KeptnApiError);
    expect((err as KeptnApiError).message)
      .to.contain(`GET ${server.url}/api/v1/metadata failed`)
      .and.match(/certificate|UNABLE_TO_VERIFY/i)
      .and.not.contain(TOKEN);
    // Not retried: a certificate that does not verify will not verify on the next attempt either.
    expect((err as KeptnApiError).transient).to.equal(false);
    expect(server.seen).to.deep.equal([]);
  });
});
