import { expect } from 'chai';
import { E2eSandbox } from '../support/e2e-harness.js';
import { eventually } from '../support/eventually.js';
import { freePort } from '../support/ports.js';
import { ServiceProcess } from '../support/service-process.js';
import { SilentServer } from '../support/silent-server.js';

const ONE_RULE = `targets:
  - match: {project: waiting, stage: dev}
    argocd: {application: app}
`;

interface Waiting {
  status: number;
  body: { status?: string; waitingFor?: string[] };
}

async function probe(port: number, path: '/health' | '/ready'): Promise<Waiting> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: (await res.json()) as Waiting['body'] };
}

const logLines = (proc: ServiceProcess) =>
  proc.lines.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });

/** `serve` while something it needs is missing: it says so in its log and in /health and /ready. */
describe('e2e: serve tells the operator what it waits for', function () {
  this.timeout(60_000);
  let sandbox: E2eSandbox;
  let silent: SilentServer;
  const procs: ServiceProcess[] = [];

  before(async () => {
    sandbox = await E2eSandbox.start();
    sandbox.writeTargets(ONE_RULE);
    silent = await SilentServer.start();
  });

  after(async () => {
    await Promise.allSettled(procs.map((p) => p.stop('SIGTERM', 5000)));
    await sandbox?.stop();
    await silent?.stop();
  });

  async function serve(env: Record<string, string>): Promise<{ proc: ServiceProcess; healthPort: number }> {
    const healthPort = await freePort();
    const proc = new ServiceProcess({
      env: sandbox.env({
        HEALTH_ENDPOINT_PORT: String(healthPort),
        WEBHOOK_PORT: String(await freePort()),
        ...env,
      }),
    });
    procs.push(proc);
    return { proc, healthPort };
  }

  for (const [what, address] of [
    ['refuses connections', async () => `nats://127.0.0.1:${await freePort()}`],
    ['accepts TCP but never speaks NATS', async () => `nats://127.0.0.1:${silent.port}`],
  ] as const) {
    it(`logs every failed NATS attempt with the address and the reason, and /health and /ready name it, when NATS ${what}`, async () => {
      const url = await address();
      const { proc, healthPort } = await serve({ EVENTBROKER: url });
      const failures = await eventually(
        () => {
          const lines = logLines(proc).filter((l) => l.message === 'cannot connect to NATS; retrying');
          if (lines.length < 2) throw new Error(`fewer than 2 connection failures logged:\n${proc.output}`);
          return lines;
        },
        40_000,
        100,
      );
      for (const line of failures) {
        expect(line.level).to.equal('warn');
        expect(line.server).to.equal(url);
        expect(line.error).to.be.a('string').and.not.equal('');
      }
      expect(failures.slice(0, 2).map((l) => l.attempt)).to.deep.equal([1, 2]);
      for (const path of ['/health', '/ready'] as const) {
        const { status, body } = await probe(healthPort, path);
        expect(status).to.equal(path === '/health' ? 412 : 503);
        expect(body.waitingFor, path).to.have.length(1);
        expect(body.waitingFor![0])
          .to.include(`a connection to NATS at ${url}`)
          .and.include(`last attempt: ${String(failures[0]!.error)}`);
      }
      await proc.stop('SIGTERM', 5000);
    });
  }

  it('says in /health which control plane it cannot register with', async () => {
    const controlPlane = `http://127.0.0.1:${await freePort()}`;
    const { proc, healthPort } = await serve({ SHIPYARD_CONTROLLER: controlPlane });
    const { body } = await eventually(
      async () => {
        const health = await probe(healthPort, '/health');
        if (!health.body.waitingFor?.[0]?.includes('last attempt'))
          throw new Error(JSON.stringify(health.body));
        return health;
      },
      20_000,
      100,
    );
    expect(body.status).to.equal('not registered');
    expect(body.waitingFor![0]).to.include(
      `uniform registration with the Keptn control plane at ${controlPlane}`,
    );
    await proc.stop('SIGTERM', 5000);
  });

  it('with no target rules: warns, subscribes to no task, and /ready says why it is not ready', async () => {
    const file = sandbox.writeTargets('targets: []\n', `${sandbox.dir}/no-rules.yaml`);
    const { proc, healthPort } = await serve({ GITOPS_CONFIG: file, INTEGRATION_NAME: 'no-rules' });
    const warning = await eventually(
      () => {
        const line = logLines(proc).find((l) => String(l.message).includes('no target rules'));
        if (!line) throw new Error(`no warning yet:\n${proc.output}`);
        return line;
      },
      20_000,
      100,
    );
    expect(warning.level).to.equal('warn');
    expect(warning.message).to.include('subscribes to no task');
    const registration = await eventually(
      () => {
        const found = sandbox.controlPlane.registrations().find((r) => r.name === 'no-rules');
        if (!found) throw new Error('not registered yet');
        return found;
      },
      20_000,
      100,
    );
    expect(registration.subscriptions ?? []).to.deep.equal([]);
    const ready = await eventually(
      async () => {
        const r = await probe(healthPort, '/ready');
        if (!r.body.waitingFor?.[0]?.startsWith('a subscription')) throw new Error(JSON.stringify(r.body));
        return r;
      },
      20_000,
      100,
    );
    expect(ready.status).to.equal(503);
    expect(ready.body.waitingFor![0]).to.include('lists none for this integration');
    expect((await probe(healthPort, '/health')).status).to.equal(200);
    await proc.stop('SIGTERM', 5000);
  });

  for (const variable of ['WEBHOOK_PORT', 'HEALTH_ENDPOINT_PORT'] as const) {
    it(`exits 1 with one JSON line naming ${variable} when its port is in use`, async () => {
      const taken = await SilentServer.start();
      try {
        const { proc } = await serve({ [variable]: String(taken.port) });
        expect(await proc.exitCode()).to.equal(1);
        const fatal = logLines(proc).filter((l) => l.level === 'error');
        expect(fatal, proc.output).to.have.length(1);
        expect(fatal[0]!.message).to.equal(
          `cannot start: cannot listen on port ${taken.port} for ${variable === 'WEBHOOK_PORT' ? 'the webhooks' : 'health and metrics'}: the port is already in use; choose another with ${variable}`,
        );
        expect(fatal[0]!.timestamp).to.be.a('string');
      } finally {
        await taken.stop();
      }
    });
  }
});
