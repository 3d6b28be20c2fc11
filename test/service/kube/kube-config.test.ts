import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { loadInCluster, loadKubeConfig } from '../../../service/kube/kube-config.js';

type Entry = Record<string, unknown>;

describe('loadKubeConfig', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'kube-config-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Writes `content` to `name` under the temp dir (creating folders) and returns its path. */
  function write(name: string, content: string | object, mode = 0o600): string {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, typeof content === 'string' ? content : stringify(content), { mode });
    return path;
  }

  /** A kubeconfig with one cluster `c`, one user `u` and the current context `ctx` (namespace keptn). */
  function kubeconfig(cluster: Entry, user: Entry = {}, name = 'kubeconfig'): string {
    return write(name, {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster }],
      users: [{ name: 'u', user }],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u', namespace: 'keptn' } }],
      'current-context': 'ctx',
    });
  }

  async function error(fn: () => unknown): Promise<Error> {
    try {
      await fn();
    } catch (err) {
      return err as Error;
    }
    throw new Error('expected an error');
  }

  const SERVER = { server: 'https://kube.example:6443/' };
  const b64 = (s: string) => Buffer.from(s).toString('base64');

  it('sends an inline token as a bearer token, with the context namespace and TLS verification on', async () => {
    const config = loadKubeConfig(kubeconfig(SERVER, { token: 'abc123' }));
    expect(await config.auth.authorization()).to.equal('Bearer abc123');
    expect(config.server).to.equal('https://kube.example:6443');
    expect(config.namespace).to.equal('keptn');
    expect(config.tls.rejectUnauthorized).to.equal(true);
  });

  it('reads tokenFile relative to the kubeconfig directory, and again once a minute', async () => {
    write('secrets/token', 'first-token\n');
    const config = loadKubeConfig(kubeconfig(SERVER, { tokenFile: 'secrets/token' }));
    expect(await config.auth.authorization()).to.equal('Bearer first-token');
    write('secrets/token', 'rotated-token\n');
    expect(await config.auth.authorization()).to.equal('Bearer first-token');
    const realNow = Date.now;
    Date.now = () => realNow() + 61_000;
    try {
      expect(await config.auth.authorization()).to.equal('Bearer rotated-token');
    } finally {
      Date.now = realNow;
    }
  });

  it('reads the CA, client certificate and key from files relative to the kubeconfig', () => {
    write('pki/ca.crt', 'CA PEM');
    write('pki/client.crt', 'CERT PEM');
    write('pki/client.key', 'KEY PEM');
    const path = kubeconfig({ ...SERVER, 'certificate-authority': 'pki/ca.crt' }, { 'client-certificate': 'pki/client.crt', 'client-key': 'pki/client.key' });
    expect(loadKubeConfig(path).tls).to.include({ ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM', rejectUnauthorized: true });
  });

  it('decodes the base64 -data fields', () => {
    const path = kubeconfig({ ...SERVER, 'certificate-authority-data': b64('CA DATA') }, { 'client-certificate-data': b64('CERT DATA'), 'client-key-data': b64('KEY DATA') });
    expect(loadKubeConfig(path).tls).to.include({ ca: 'CA DATA', cert: 'CERT DATA', key: 'KEY DATA' });
  });

  it('names the missing certificate file and the kubeconfig in the error', async () => {
    const path = kubeconfig({ ...SERVER, 'certificate-authority': 'nowhere/ca.crt' });
    const err = await error(() => loadKubeConfig(path));
    expect(err.message).to.contain(join(dir, 'nowhere/ca.crt')).and.contain('certificate-authority').and.contain(path);
  });

  it('turns verification off for insecure-skip-tls-verify and passes tls-server-name', () => {
    const config = loadKubeConfig(kubeconfig({ ...SERVER, 'insecure-skip-tls-verify': true, 'tls-server-name': 'kubernetes.default.svc' }));
    expect(config.tls).to.include({ rejectUnauthorized: false, servername: 'kubernetes.default.svc' });
  });

  it('sends username and password as basic auth', async () => {
    const config = loadKubeConfig(kubeconfig(SERVER, { username: 'admin', password: 's3cret' }));
    expect(await config.auth.authorization()).to.equal(`Basic ${b64('admin:s3cret')}`);
  });

  describe('exec credential plugin', () => {
    /** An executable script printing an ExecCredential that expires at $EXPIRES, counting its runs in `runs`. */
    function plugin(expires: string): string {
      const script = write(
        'bin/get-token',
        [
          '#!/bin/sh',
          `n=$(( $(cat "${dir}/runs" 2>/dev/null || echo 0) + 1 ))`,
          `echo "$n" > "${dir}/runs"`,
          `printf '%s' "$KUBERNETES_EXEC_INFO" > "${dir}/exec-info"`,
          `printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s-%s","expirationTimestamp":"%s"}}' "$1" "$n" "$EXPIRES"`,
          '',
        ].join('\n'),
        0o755,
      );
      return kubeconfig(SERVER, { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: script, args: ['exec-token'], env: [{ name: 'EXPIRES', value: expires }] } });
    }
    const runs = () => Number(readFileSync(join(dir, 'runs'), 'utf8'));

    it('uses the token the plugin prints and passes KUBERNETES_EXEC_INFO', async () => {
      const config = loadKubeConfig(plugin(new Date(Date.now() + 3_600_000).toISOString()));
      expect(await config.auth.authorization()).to.equal('Bearer exec-token-1');
      const info = JSON.parse(readFileSync(join(dir, 'exec-info'), 'utf8'));
      expect(info).to.deep.include({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential' });
    });

    it('does not run the plugin again while the token is valid, and runs it once for concurrent callers', async () => {
      const config = loadKubeConfig(plugin(new Date(Date.now() + 3_600_000).toISOString()));
      const first = await Promise.all([config.auth.authorization(), config.auth.authorization(), config.auth.authorization()]);
      expect(first).to.deep.equal(['Bearer exec-token-1', 'Bearer exec-token-1', 'Bearer exec-token-1']);
      expect(await config.auth.authorization()).to.equal('Bearer exec-token-1');
      expect(runs()).to.equal(1);
    });

    it('runs the plugin again when its credential has expired', async () => {
      const config = loadKubeConfig(plugin(new Date(Date.now() - 1000).toISOString()));
      expect(await config.auth.authorization()).to.equal('Bearer exec-token-1');
      expect(await config.auth.authorization()).to.equal('Bearer exec-token-2');
      expect(runs()).to.equal(2);
    });

    it('runs a relative plugin path from the kubeconfig directory, as kubectl does', async () => {
      write('bin/relative-token', `#!/bin/sh\necho '{"kind":"ExecCredential","status":{"token":"relative"}}'\n`, 0o755);
      const config = loadKubeConfig(kubeconfig(SERVER, { exec: { command: './bin/relative-token' } }));
      expect(await config.auth.authorization()).to.equal('Bearer relative');
    });

    it('fails with the plugin command and its stderr when the plugin fails', async () => {
      const script = write('bin/broken', '#!/bin/sh\necho "no credentials for profile prod" >&2\nexit 3\n', 0o755);
      const config = loadKubeConfig(kubeconfig(SERVER, { exec: { command: script } }));
      const err = await error(() => config.auth.authorization());
      expect(err.message).to.contain(script).and.contain('no credentials for profile prod');
    });

    it('refuses a plugin that returns only a client certificate, saying so', async () => {
      const status = JSON.stringify({ kind: 'ExecCredential', status: { clientCertificateData: 'CERT', clientKeyData: 'KEY' } });
      const script = write('bin/cert-plugin', `#!/bin/sh\necho '${status}'\n`, 0o755);
      const config = loadKubeConfig(kubeconfig(SERVER, { exec: { command: script } }));
      const err = await error(() => config.auth.authorization());
      expect(err.message).to.contain(script).and.contain('client certificate');
    });
  });

  it('refuses auth-provider and points to exec plugins', async () => {
    const err = await error(() => loadKubeConfig(kubeconfig(SERVER, { 'auth-provider': { name: 'gcp', config: {} } })));
    expect(err.message).to.contain('auth-provider "gcp"').and.contain('exec');
  });

  it('refuses proxy-url', async () => {
    const err = await error(() => loadKubeConfig(kubeconfig({ ...SERVER, 'proxy-url': 'http://proxy:3128' })));
    expect(err.message).to.contain('proxy-url');
  });

  it('says when there is no current-context, naming the file', async () => {
    const path = write('kubeconfig', { clusters: [{ name: 'c', cluster: SERVER }], contexts: [{ name: 'ctx', context: { cluster: 'c' } }] });
    expect((await error(() => loadKubeConfig(path))).message).to.contain(path).and.contain('no current-context');
  });

  it('says when the current-context is not defined', async () => {
    const path = write('kubeconfig', { clusters: [{ name: 'c', cluster: SERVER }], contexts: [{ name: 'ctx', context: { cluster: 'c' } }], 'current-context': 'prod' });
    expect((await error(() => loadKubeConfig(path))).message).to.contain('"prod" is not among its contexts');
  });

  it('says when the cluster has no server', async () => {
    const err = await error(() => loadKubeConfig(kubeconfig({ 'insecure-skip-tls-verify': true }, { token: 't' })));
    expect(err.message).to.contain('cluster "c" has no server');
  });

  it('merges files joined by ":", the first to define a name winning, paths relative to each file', async () => {
    const first = write('a/config', {
      clusters: [{ name: 'shared', cluster: { server: 'https://first:6443' } }],
      contexts: [{ name: 'work', context: { cluster: 'shared', user: 'me', namespace: 'from-first' } }],
      'current-context': 'work',
    });
    write('b/token', 'token-from-b');
    const second = write('b/config', {
      clusters: [{ name: 'shared', cluster: { server: 'https://second:6443' } }],
      users: [{ name: 'me', user: { tokenFile: 'token' } }],
      contexts: [{ name: 'work', context: { cluster: 'shared', user: 'me', namespace: 'from-second' } }],
      'current-context': 'other',
    });
    const config = loadKubeConfig(`${first}:${second}`);
    expect(config.server).to.equal('https://first:6443');
    expect(config.namespace).to.equal('from-first');
    expect(await config.auth.authorization()).to.equal('Bearer token-from-b');
  });
});

describe('loadInCluster', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kube-sa-'));
    writeFileSync(join(dir, 'token'), 'sa-token\n');
    writeFileSync(join(dir, 'ca.crt'), 'CLUSTER CA');
    writeFileSync(join(dir, 'namespace'), 'keptn\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('uses the service host and port, the pod namespace, the cluster CA and the service account token', async () => {
    const config = loadInCluster(dir, { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' });
    expect(config.server).to.equal('https://10.96.0.1:443');
    expect(config.namespace).to.equal('keptn');
    expect(config.tls).to.include({ ca: 'CLUSTER CA', rejectUnauthorized: true });
    expect(await config.auth.authorization()).to.equal('Bearer sa-token');
  });

  it('brackets an IPv6 service host', () => {
    expect(loadInCluster(dir, { KUBERNETES_SERVICE_HOST: 'fd00:10:96::1', KUBERNETES_SERVICE_PORT: '443' }).server).to.equal('https://[fd00:10:96::1]:443');
  });

  it('says it is not in a pod when the service env vars are missing', () => {
    expect(() => loadInCluster(dir, {})).to.throw(/KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set/);
  });

  it('names the token file when the service account token is missing', () => {
    rmSync(join(dir, 'token'));
    expect(() => loadInCluster(dir, { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' })).to.throw(join(dir, 'token'));
  });
});
