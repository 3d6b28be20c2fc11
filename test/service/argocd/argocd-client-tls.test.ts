import { expect } from 'chai';
import { ArgoApiError, ArgoCdClient } from '../../../service/deployers/argocd/index.js';
import type { ArgoInstance } from '../../../service/config/gitops-config.js';
import { Secret } from '../../../service/config/secret.js';
import { silentLogger } from '../../../lib/log.js';
import { answerJson, pkiForSuite, startHttpsServer, type TestHttpsServer } from '../../support/tls.js';

const TOKEN = 'argocd-tls-secret-token';

describe('ArgoCdClient over TLS', () => {
  const suite = pkiForSuite('argocd-tls-');
  let server: TestHttpsServer;
  let client: ArgoCdClient | undefined;

  beforeEach(async () => {
    server = await startHttpsServer(
      { cert: suite.pki.serverCert, key: suite.pki.serverKey },
      answerJson({ items: [] }),
    );
  });
  afterEach(async () => {
    await client?.close();
    await server.close();
    client = undefined;
  });

  function argocd(tls: Pick<ArgoInstance, 'insecure' | 'caFile'>): ArgoCdClient {
    const instance: ArgoInstance = {
      name: 'prod',
      server: server.url,
      ...tls,
      auth: { kind: 'token', token: new Secret(TOKEN) },
    };
    client = new ArgoCdClient({
      instance,
      logger: silentLogger,
      retry: { initialMs: 5, maxMs: 10 },
      requestTimeoutMs: 5_000,
    });
    return client;
  }

  it('verifies the server against caFile, lists applications and sends the bearer token', async () => {
    const apps = await argocd({ insecure: false, caFile: suite.pki.caFile }).listApplications();
    expect(apps).to.deep.equal([]);
    expect(server.seen.map((s) => [s.method, s.url, s.authorization])).to.deep.equal([
      ['GET', '/api/v1/applications', `Bearer ${TOKEN}`],
    ]);
  });

  it('fails fast, without retrying, on a server it cannot verify and never prints the token', async () => {
    const started = Date.now();
    const err = await argocd({ insecure: false })
      .listApplications(undefined, {}, { deadline: Date.now() + 3_000 })
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ArgoApiError);
    const apiError = err as ArgoApiError;
    expect(apiError.transient, 'a TLS failure is not transient').to.equal(false);
    expect(apiError.message)
      .to.match(/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/)
      .and.not.contain(TOKEN);
    expect(server.seen, 'no request got through').to.deep.equal([]);
    expect(server.connections, 'one connection attempt, no retries').to.equal(1);
    expect(Date.now() - started).to.be.below(2_000);
  });

  it('connects to a server it cannot verify when insecure is true', async () => {
    const apps = await argocd({ insecure: true }).listApplications();
    expect(apps).to.deep.equal([]);
    expect(server.seen.map((s) => s.authorization)).to.deep.equal([`Bearer ${TOKEN}`]);
  });
});
