import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { stringify } from 'yaml';
import { CONFIGMAPS, KubeApi } from '../../../service/kube/kube-api.js';
import { loadKubeConfig } from '../../../service/kube/kube-config.js';
import { KubeApiError } from '../../../service/kube/kube-errors.js';
import type { ConfigMap } from '../../../service/kube/objects.js';

const TOKEN = 'tls-test-secret-token';

/** PEM files made by openssl: a CA, server certificates signed by it, and a client certificate. */
interface Pki {
  ca: string;
  serverCert: string;
  serverKey: string;
  /** Valid only for kubernetes.default.svc, not for 127.0.0.1. */
  namedCert: string;
  namedKey: string;
  clientCert: string;
  clientKey: string;
}

function makePki(dir: string): Pki {
  const openssl = (...args: string[]) => execFileSync('/usr/bin/openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=test-ca');
  const issue = (name: string, cn: string, extensions: string) => {
    writeFileSync(join(dir, `${name}.ext`), `basicConstraints=CA:FALSE\n${extensions}\n`);
    openssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-out', `${name}.crt`, '-extfile', `${name}.ext`);
  };
  issue('server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth');
  issue('named', 'kubernetes', 'subjectAltName=DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth');
  issue('client', 'keptn-gitops', 'extendedKeyUsage=clientAuth');
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  return {
    ca: read('ca.crt'),
    serverCert: read('server.crt'),
    serverKey: read('server.key'),
    namedCert: read('named.crt'),
    namedKey: read('named.key'),
    clientCert: read('client.crt'),
    clientKey: read('client.key'),
  };
}

/** What the fake API server saw of each request that reached it. */
interface Seen {
  authorization?: string;
  clientCN?: string;
  servername?: string;
}

/** Answers like the API server for the ConfigMap keptn/x, recording each request. */
async function startApiServer(options: ServerOptions): Promise<{ server: Server; url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer(options, (req, res) => {
    const socket = req.socket as TLSSocket;
    const peer = options.requestCert ? socket.getPeerCertificate() : undefined;
    seen.push({ authorization: req.headers.authorization, clientCN: peer?.subject?.CN as string | undefined, servername: socket.servername || undefined });
    const found = req.method === 'GET' && req.url === '/api/v1/namespaces/keptn/configmaps/x';
    res.writeHead(found ? 200 : 404, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify(
        found
          ? { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'keptn', resourceVersion: '7' }, data: { k: 'v' } }
          : { apiVersion: 'v1', kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404, message: `${req.url} not found` },
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe('KubeApi over TLS', () => {
  let dir: string;
  let pki: Pki;
  let server: Server | undefined;
  let api: KubeApi | undefined;
  const b64 = (pem: string) => Buffer.from(pem).toString('base64');

  before(function () {
    this.timeout(60_000);
    dir = mkdtempSync(join(tmpdir(), 'kube-tls-'));
    pki = makePki(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    await api?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    api = server = undefined;
  });

  async function start(options: ServerOptions = {}) {
    const started = await startApiServer({ cert: pki.serverCert, key: pki.serverKey, ...options });
    server = started.server;
    return started;
  }

  /** A KubeApi loaded from a kubeconfig file written with this cluster and user. */
  function client(cluster: Record<string, unknown>, user: Record<string, unknown> = { token: TOKEN }): KubeApi {
    const path = join(dir, 'kubeconfig');
    writeFileSync(path, stringify({
      clusters: [{ name: 'c', cluster }],
      users: [{ name: 'u', user }],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u', namespace: 'keptn' } }],
      'current-context': 'ctx',
    }));
    api = new KubeApi(loadKubeConfig(path), { requestTimeoutMs: 5_000 });
    return api;
  }

  it('verifies the server against certificate-authority-data and sends the bearer token', async () => {
    const { url, seen } = await start();
    const cm = await client({ server: url, 'certificate-authority-data': b64(pki.ca) }).get<ConfigMap>(CONFIGMAPS, 'keptn', 'x');
    expect(cm.data).to.deep.equal({ k: 'v' });
    expect(seen.map((s) => s.authorization)).to.deep.equal([`Bearer ${TOKEN}`]);
  });

  it('refuses a server it cannot verify, as unreachable, without sending or printing the token', async () => {
    const { url, seen } = await start();
    const err = await client({ server: url }).get(CONFIGMAPS, 'keptn', 'x').catch((e: unknown) => e);
    expect(err).to.be.instanceOf(KubeApiError);
    expect((err as KubeApiError).kind).to.equal('unreachable');
    expect((err as KubeApiError).message).to.contain('configmaps "x" in namespace keptn').and.not.contain(TOKEN);
    expect(seen).to.deep.equal([]);
  });

  it('connects to an unverifiable server with insecure-skip-tls-verify', async () => {
    const { url, seen } = await start();
    const cm = await client({ server: url, 'insecure-skip-tls-verify': true }).get<ConfigMap>(CONFIGMAPS, 'keptn', 'x');
    expect(cm.metadata?.name).to.equal('x');
    expect(seen).to.have.length(1);
  });

  it('presents the client certificate from client-certificate-data and client-key-data', async () => {
    const { url, seen } = await start({ requestCert: true, rejectUnauthorized: true, ca: pki.ca });
    const user = { 'client-certificate-data': b64(pki.clientCert), 'client-key-data': b64(pki.clientKey) };
    const cm = await client({ server: url, 'certificate-authority-data': b64(pki.ca) }, user).get<ConfigMap>(CONFIGMAPS, 'keptn', 'x');
    expect(cm.metadata?.name).to.equal('x');
    expect(seen.map((s) => s.clientCN)).to.deep.equal(['keptn-gitops']);
    expect(seen[0].authorization).to.equal(undefined);
  });

  it('cannot connect to a server that requires a client certificate without one', async () => {
    const { url, seen } = await start({ requestCert: true, rejectUnauthorized: true, ca: pki.ca });
    const err = await client({ server: url, 'certificate-authority-data': b64(pki.ca) }).get(CONFIGMAPS, 'keptn', 'x').catch((e: unknown) => e);
    expect(err).to.be.instanceOf(KubeApiError);
    expect(seen).to.deep.equal([]);
  });

  it('verifies the server as tls-server-name and sends it as SNI', async () => {
    const { url, seen } = await start({ cert: pki.namedCert, key: pki.namedKey });
    const cluster = { server: url, 'certificate-authority-data': b64(pki.ca), 'tls-server-name': 'kubernetes.default.svc' };
    const cm = await client(cluster).get<ConfigMap>(CONFIGMAPS, 'keptn', 'x');
    expect(cm.metadata?.name).to.equal('x');
    expect(seen.map((s) => s.servername)).to.deep.equal(['kubernetes.default.svc']);
  });

  it('refuses a server whose certificate does not match the address without tls-server-name', async () => {
    const { url, seen } = await start({ cert: pki.namedCert, key: pki.namedKey });
    const err = await client({ server: url, 'certificate-authority-data': b64(pki.ca) }).get(CONFIGMAPS, 'keptn', 'x').catch((e: unknown) => e);
    expect((err as KubeApiError).kind).to.equal('unreachable');
    expect(seen).to.deep.equal([]);
  });
});
