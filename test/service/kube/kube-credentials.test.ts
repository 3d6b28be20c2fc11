import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { CONFIGMAPS, KubeApi } from '../../../service/kube/kube-api.js';
import { loadKubeConfig } from '../../../service/kube/kube-config.js';
import { KubeApiError } from '../../../service/kube/kube-errors.js';
import { pkiForSuite, startHttpsServer, type TestHttpsServer } from '../../support/tls.js';

type Entry = Record<string, unknown>;

/** Answers every request with the ConfigMap keptn/x, as the API server would. */
function apiServer(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x', namespace: 'keptn', resourceVersion: '1' },
    }),
  );
}

/**
 * How the service authenticates to the API server, end to end: a kubeconfig (or the pod's service
 * account) loaded by @kubernetes/client-node, the request made by KubeApi to a TLS server verified
 * with a CA made in the test, and the Authorization header that server received.
 */
describe('Kubernetes credentials (client-node configuration, KubeApi requests)', () => {
  const suite = pkiForSuite('kube-credentials-');
  let server: TestHttpsServer;
  let dir: string;
  const apis: KubeApi[] = [];

  before(
    async () =>
      (server = await startHttpsServer({ cert: suite.pki.serverCert, key: suite.pki.serverKey }, apiServer)),
  );
  after(async () => server?.close());
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kube-credentials-'));
    server.seen.length = 0;
  });
  afterEach(async () => {
    await Promise.all(apis.splice(0).map((api) => api.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  function write(name: string, content: string | object, mode = 0o600): string {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, typeof content === 'string' ? content : stringify(content), { mode });
    return path;
  }

  /** A kubeconfig for the test server (its CA by file, relative to the kubeconfig) with this user. */
  function kubeconfig(user: Entry, name = 'kubeconfig'): string {
    write('pki/ca.crt', suite.pki.ca);
    return write(name, {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: server.url, 'certificate-authority': 'pki/ca.crt' } }],
      users: [{ name: 'u', user }],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u', namespace: 'keptn' } }],
      'current-context': 'ctx',
    });
  }

  function client(path?: string, serviceAccountPrefix?: string): KubeApi {
    const api = new KubeApi(loadKubeConfig(path, serviceAccountPrefix), { requestTimeoutMs: 5_000 });
    apis.push(api);
    return api;
  }

  /** The Authorization header of one GET through `api`. */
  async function authorizationOf(api: KubeApi): Promise<string | undefined> {
    const before = server.seen.length;
    await api.get(CONFIGMAPS, 'keptn', 'x');
    return server.seen[before]!.authorization;
  }

  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => expect.fail('expected an error'),
      (err: unknown) => err as KubeApiError,
    );

  it('sends an inline token as a bearer token, the CA file found relative to the kubeconfig', async () => {
    expect(await authorizationOf(client(kubeconfig({ token: 'abc123' })))).to.equal('Bearer abc123');
  });

  it('sends username and password as basic auth', async () => {
    const basic = Buffer.from('admin:s3cret').toString('base64');
    expect(await authorizationOf(client(kubeconfig({ username: 'admin', password: 's3cret' })))).to.equal(
      `Basic ${basic}`,
    );
  });

  it('merges the files of KUBECONFIG, the first current-context winning as with kubectl', async () => {
    const first = write('a/config', {
      contexts: [{ name: 'work', context: { cluster: 'c', user: 'me' } }],
      'current-context': 'work',
    });
    write('pki/ca.crt', suite.pki.ca);
    const second = write('b/config', {
      clusters: [
        {
          name: 'c',
          cluster: {
            server: server.url,
            'certificate-authority-data': Buffer.from(suite.pki.ca).toString('base64'),
          },
        },
      ],
      users: [
        { name: 'me', user: { token: 'token-from-b' } },
        { name: 'other', user: { token: 'wrong' } },
      ],
      contexts: [{ name: 'other', context: { cluster: 'c', user: 'other' } }],
      'current-context': 'other',
    });
    expect(await authorizationOf(client(`${first}:${second}`))).to.equal('Bearer token-from-b');
  });

  it('uses the OIDC id-token while it is valid', async () => {
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const idToken = `${part({ alg: 'none' })}.${part({ sub: 'keptn', exp: Math.floor(Date.now() / 1000) + 3600 })}.sig`;
    const api = client(
      kubeconfig({
        'auth-provider': { name: 'oidc', config: { 'id-token': idToken, 'client-id': 'kubernetes' } },
      }),
    );
    expect(await authorizationOf(api)).to.equal(`Bearer ${idToken}`);
  });

  it('says which file and what is wrong when the kubeconfig has no usable current context', () => {
    const path = write('kubeconfig', {
      clusters: [{ name: 'c', cluster: { server: server.url } }],
      contexts: [{ name: 'ctx', context: { cluster: 'c' } }],
      'current-context': 'prod',
    });
    expect(() => loadKubeConfig(path)).to.throw(
      `kubeconfig ${path}: the current-context "prod" names no cluster it defines`,
    );
    const noServer = write('no-server', { clusters: [{ name: 'c', cluster: {} }], 'current-context': 'ctx' });
    expect(() => loadKubeConfig(noServer)).to.throw(
      `kubeconfig ${noServer}: clusters[0].cluster.server is missing`,
    );
  });

  it('refuses a plain-HTTP server unless insecure-skip-tls-verify says so, before anything is sent', async () => {
    const path = write('kubeconfig', {
      clusters: [{ name: 'c', cluster: { server: 'http://127.0.0.1:1' } }],
      users: [{ name: 'u', user: { token: 'never-sent-token' } }],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'ctx',
    });
    const err = await failure(client(path).get(CONFIGMAPS, 'keptn', 'x'));
    expect(err).to.be.instanceOf(KubeApiError).and.include({ kind: 'unauthorized', transient: false });
    expect(err.message).to.contain('HTTP protocol is not allowed').and.not.contain('never-sent-token');
  });

  describe('in a pod (the service account, no KUBECONFIG)', () => {
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    const restore = () => {
      for (const [name, value] of [
        ['KUBERNETES_SERVICE_HOST', saved.host],
        ['KUBERNETES_SERVICE_PORT', saved.port],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    };
    afterEach(restore);
    const SA = 'var/run/secrets/kubernetes.io/serviceaccount';

    function inPod(token: string): KubeApi {
      write(`${SA}/token`, token);
      write(`${SA}/ca.crt`, suite.pki.ca);
      write(`${SA}/namespace`, 'keptn');
      const url = new URL(server.url);
      process.env.KUBERNETES_SERVICE_HOST = url.hostname;
      process.env.KUBERNETES_SERVICE_PORT = url.port;
      return client(undefined, dir);
    }

    it('verifies the server with the mounted CA and sends the mounted token', async () => {
      expect(await authorizationOf(inPod('sa-token'))).to.equal('Bearer sa-token');
    });

    it('reads the rotated token once the last read is a minute old', async () => {
      const api = inPod('first-token');
      expect(await authorizationOf(api)).to.equal('Bearer first-token');
      write(`${SA}/token`, 'rotated-token');
      expect(await authorizationOf(api)).to.equal('Bearer first-token');
      const RealDate = Date;
      // client-node times the token file with `new Date()`: move the clock 61 s on.
      globalThis.Date = class extends RealDate {
        constructor(...args: unknown[]) {
          if (args.length === 0) super(RealDate.now() + 61_000);
          else super(...(args as [number]));
        }
        static override now() {
          return RealDate.now() + 61_000;
        }
      } as DateConstructor;
      try {
        expect(await authorizationOf(api)).to.equal('Bearer rotated-token');
      } finally {
        globalThis.Date = RealDate;
      }
    });

    it('says it is not in a pod when the service variables are not set', () => {
      delete process.env.KUBERNETES_SERVICE_HOST;
      expect(() => loadKubeConfig(undefined, dir)).to.throw(
        /KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set/,
      );
    });

    it('says that credentials could not be obtained, naming the token file, when it is missing', async () => {
      const api = inPod('x');
      rmSync(join(dir, SA, 'token'));
      const err = await failure(api.get(CONFIGMAPS, 'keptn', 'x'));
      expect(err).to.include({ kind: 'unauthorized' });
      expect(err.message)
        .to.contain('cannot obtain credentials')
        .and.contain(join(dir, SA, 'token'));
    });
  });

  describe('exec credential plugin', () => {
    /** An executable script printing an ExecCredential that expires at $EXPIRES, counting its runs. */
    function plugin(expires: string): string {
      const script = write(
        'bin/get-token',
        [
          '#!/bin/sh',
          `n=$(( $(cat "${dir}/runs" 2>/dev/null || echo 0) + 1 ))`,
          `echo "$n" > "${dir}/runs"`,
          `printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s-%s","expirationTimestamp":"%s"}}' "$1" "$n" "$EXPIRES"`,
          '',
        ].join('\n'),
        0o755,
      );
      return kubeconfig({
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1',
          command: script,
          args: ['exec-token'],
          env: [{ name: 'EXPIRES', value: expires }],
        },
      });
    }
    const runs = () => Number(readFileSync(join(dir, 'runs'), 'utf8'));

    it('sends the token the plugin prints, and runs it once for concurrent requests and while the token is valid', async () => {
      const api = client(plugin(new Date(Date.now() + 3_600_000).toISOString()));
      await Promise.all([
        api.get(CONFIGMAPS, 'keptn', 'x'),
        api.get(CONFIGMAPS, 'keptn', 'x'),
        api.get(CONFIGMAPS, 'keptn', 'x'),
      ]);
      expect(await authorizationOf(api)).to.equal('Bearer exec-token-1');
      expect(server.seen.map((s) => s.authorization)).to.deep.equal(Array(4).fill('Bearer exec-token-1'));
      expect(runs()).to.equal(1);
    });

    it('runs the plugin again when its credential has expired', async () => {
      const api = client(plugin(new Date(Date.now() - 1000).toISOString()));
      expect(await authorizationOf(api)).to.equal('Bearer exec-token-1');
      expect(await authorizationOf(api)).to.equal('Bearer exec-token-2');
    });

    it("says that credentials could not be obtained, with the plugin's stderr, and sends nothing", async () => {
      const script = write(
        'bin/broken',
        '#!/bin/sh\necho "no credentials for profile prod" >&2\nexit 3\n',
        0o755,
      );
      const err = await failure(
        client(kubeconfig({ exec: { command: script } })).get(CONFIGMAPS, 'keptn', 'x'),
      );
      expect(err).to.be.instanceOf(KubeApiError).and.include({ kind: 'unauthorized', transient: false });
      expect(err.message).to.equal(
        'get configmaps "x" in namespace keptn: cannot obtain credentials: no credentials for profile prod',
      );
      expect(server.seen).to.deep.equal([]);
    });
  });
});
