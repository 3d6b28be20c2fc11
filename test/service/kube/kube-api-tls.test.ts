import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerOptions } from 'node:https';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CONFIGMAPS, KubeApi } from '../../../service/kube/kube-api.js';
import { loadKubeConfig } from '../../../service/kube/kube-config.js';
import { KubeApiError } from '../../../service/kube/kube-errors.js';
import type { ConfigMap } from '../../../service/kube/objects.js';
import { pkiForSuite, startHttpsServer, type TestHttpsServer } from '../../support/tls.js';

const TOKEN = 'tls-test-secret-token';

/** Answers like the API server for the ConfigMap keptn/x. */
function apiServer(req: IncomingMessage, res: ServerResponse): void {
  const found = req.method === 'GET' && req.url === '/api/v1/namespaces/keptn/configmaps/x';
  res.writeHead(found ? 200 : 404, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify(
      found
        ? {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: 'x', namespace: 'keptn', resourceVersion: '7' },
            data: { k: 'v' },
          }
        : {
            apiVersion: 'v1',
            kind: 'Status',
            status: 'Failure',
            reason: 'NotFound',
            code: 404,
            message: `${req.url} not found`,
          },
    ),
  );
}

describe('KubeApi over TLS', () => {
  const suite = pkiForSuite('kube-tls-');
  let server: TestHttpsServer | undefined;
  let api: KubeApi | undefined;
  const b64 = (pem: string) => Buffer.from(pem).toString('base64');

  afterEach(async () => {
    await api?.close();
    await server?.close();
    api = server = undefined;
  });

  async function start(options: ServerOptions = {}) {
    server = await startHttpsServer(
      { cert: suite.pki.serverCert, key: suite.pki.serverKey, ...options },
      apiServer,
    );
    return server;
  }

  /** A KubeApi loaded from a kubeconfig file written with this cluster and user. */
  function client(
    cluster: Record<string, unknown>,
    user: Record<string, unknown> = { token: TOKEN },
  ): KubeApi {
    const path = join(suite.dir, 'kubeconfig');
    writeFileSync(
      path,
      stringify({
        clusters: [{ name: 'c', cluster }],
        users: [{ name: 'u', user }],
        contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u', namespace: 'keptn' } }],
        'current-context': 'ctx',
      }),
    );
    api = new KubeApi(loadKubeConfig(path), { requestTimeoutMs: 5_000 });
    return api;
  }

  it('verifies the server against certificate-authority-data and sends the bearer token', async () => {
    const { url, seen } = await start();
    const cm = await client({ server: url, 'certificate-authority-data': b64(suite.pki.ca) }).get<ConfigMap>(
      CONFIGMAPS,
      'keptn',
      'x',
    );
    expect(cm.data).to.deep.equal({ k: 'v' });
    expect(seen.map((s) => s.authorization)).to.deep.equal([`Bearer ${TOKEN}`]);
  });

  it('refuses a server it cannot verify, as unreachable, without sending or printing the token', async () => {
    const { url, seen } = await start();
    const err = await client({ server: url })
      .get(CONFIGMAPS, 'keptn', 'x')
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(KubeApiError);
    expect((err as KubeApiError).kind).to.equal('unreachable');
    // Terminal, as for the Argo CD and Keptn API clients: it would not verify on retry either.
    expect((err as KubeApiError).transient).to.equal(false);
    expect((err as KubeApiError).message)
      .to.contain('configmaps "x" in namespace keptn')
      .and.not.contain(TOKEN);
    expect(seen).to.deep.equal([]);
  });

  it('connects to an unverifiable server with insecure-skip-tls-verify', async () => {
    const { url, seen } = await start();
    const cm = await client({ server: url, 'insecure-skip-tls-verify': true }).get<ConfigMap>(
      CONFIGMAPS,
      'keptn',
      'x',
    );
    expect(cm.metadata?.name).to.equal('x');
    expect(seen).to.have.length(1);
  });

  it('presents the client certificate from client-certificate-data and client-key-data', async () => {
    const { url, seen } = await start({ requestCert: true, rejectUnauthorized: true, ca: suite.pki.ca });
    const user = {
      'client-certificate-data': b64(suite.pki.clientCert),
      'client-key-data': b64(suite.pki.clientKey),
    };
    const cm = await client(
      { server: url, 'certificate-authority-data': b64(suite.pki.ca) },
      user,
    ).get<ConfigMap>(CONFIGMAPS, 'keptn', 'x');
    expect(cm.metadata?.name).to.equal('x');
    expect(seen.map((s) => s.clientCN)).to.deep.equal(['keptn-gitops']);
    expect(seen[0].authorization).to.equal(undefined);
  });

  it('cannot connect to a server that requires a client certificate without one', async () => {
    const { url, seen } = await start({ requestCert: true, rejectUnauthorized: true, ca: suite.pki.ca });
    const err = await client({ server: url, 'certificate-authority-data': b64(suite.pki.ca) })
      .get(CONFIGMAPS, 'keptn', 'x')
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(KubeApiError);
    expect(seen).to.deep.equal([]);
  });

  it('verifies the server as tls-server-name and sends it as SNI', async () => {
    const { url, seen } = await start({ cert: suite.pki.namedCert, key: suite.pki.namedKey });
    const cluster = {
      server: url,
      'certificate-authority-data': b64(suite.pki.ca),
      'tls-server-name': 'kubernetes.default.svc',
    };
    const cm = await client(cluster).get<ConfigMap>(CONFIGMAPS, 'keptn', 'x');
    expect(cm.metadata?.name).to.equal('x');
    expect(seen.map((s) => s.servername)).to.deep.equal(['kubernetes.default.svc']);
  });

  it('refuses a server whose certificate does not match the address without tls-server-name', async () => {
    const { url, seen } = await start({ cert: suite.pki.namedCert, key: suite.pki.namedKey });
    const err = await client({ server: url, 'certificate-authority-data': b64(suite.pki.ca) })
      .get(CONFIGMAPS, 'keptn', 'x')
      .catch((e: unknown) => e);
    expect((err as KubeApiError).kind).to.equal('unreachable');
    expect(seen).to.deep.equal([]);
  });
});
