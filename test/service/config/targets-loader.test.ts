import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadTargetsFile, parseTargetsFile } from '../../../service/config/targets-loader.js';
import { EXAMPLE_ENV, PRODUCT_EXAMPLE } from './product-example.js';

/** The ConfigError a broken file raises (fails the test when none is raised). */
function problemsOf(yaml: string, env: Record<string, string> = {}): ConfigError {
  try {
    parseTargetsFile(yaml, '/etc/keptn-gitops/config.yaml', env);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const flux = (extra = '') => `targets:\n  - flux: {kind: Kustomization, name: app${extra}}\n`;

describe('targets file loader', () => {
  it('loads the example of the specification', () => {
    const config = parseTargetsFile(PRODUCT_EXAMPLE, 'example.yaml', EXAMPLE_ENV);
    expect(config.file).to.equal('example.yaml');
    expect(config.rules).to.have.length(2);
    expect([...config.instances.keys()]).to.deep.equal(['prod']);
    const prod = config.instances.get('prod')!;
    expect(prod.server).to.equal('https://argocd.prod.example.com');
    expect(prod.caFile).to.equal('/etc/keptn-gitops/prod-ca.crt');
    expect(prod.auth.kind).to.equal('token');
    expect(config.webhooks.argocdToken?.reveal()).to.equal('webhook-token-secret');
    expect(config.webhooks.fluxHmacKey?.reveal()).to.equal('hmac-key-secret');
    expect(config.webhooks.fluxToken?.reveal()).to.equal('flux-token-secret');
    expect(config.rules[1]!.onChange).to.deep.equal({ sequence: 'delivery' });
  });

  it('never shows a secret when the config is printed', () => {
    const config = parseTargetsFile(PRODUCT_EXAMPLE, 'example.yaml', EXAMPLE_ENV);
    const printed = JSON.stringify({ ...config, instances: [...config.instances.values()] });
    for (const secret of Object.values(EXAMPLE_ENV)) expect(printed).not.to.include(secret);
  });

  it('loads a file from disk and names it in errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'targets-'));
    const file = join(dir, 'config.yaml');
    writeFileSync(file, 'targets:\n  - flux: {kind: Kustomization, name: app}\n');
    expect(loadTargetsFile(file, {}).rules).to.have.length(1);
    writeFileSync(file, 'targetz: []\n');
    expect(() => loadTargetsFile(file, {})).to.throw(ConfigError, file);
    expect(() => loadTargetsFile(join(dir, 'missing.yaml'), {})).to.throw(
      ConfigError,
      /missing\.yaml.*cannot read/s,
    );
  });

  it('treats an empty file as no targets', () => {
    const config = parseTargetsFile('', 'empty.yaml', {});
    expect(config.rules).to.deep.equal([]);
    expect(config.webhooks).to.deep.equal({
      argocdToken: undefined,
      fluxHmacKey: undefined,
      fluxToken: undefined,
    });
  });

  it('reports YAML syntax errors with the line, the column, what is wrong and the line itself', () => {
    const err = problemsOf('targets:\n  - match: {project: a\n    flux: x\n');
    expect(err.problems).to.deep.equal([
      'not valid YAML at line 3, column 5: Flow map in block collection must be sufficiently indented and end with a } (line 3: "flux: x")',
    ]);
    for (const problem of problemsOf('targets:\n  - match: {project: [a\n').problems)
      expect(problem).not.to.match(/:\s*$/);
  });

  it('refuses YAML it would otherwise only warn about (an unknown tag), with the line, and prints nothing', () => {
    const written: string[] = [];
    const original = process.emitWarning;
    process.emitWarning = ((warning: string | Error) =>
      void written.push(String(warning))) as typeof process.emitWarning;
    try {
      const err = problemsOf(
        'targets:\n  - match: {project: !shop sockshop}\n    flux: {kind: Kustomization, name: podinfo}\n',
      );
      expect(err.message).to.match(/not valid YAML at line 2, column \d+: .*!shop/);
    } finally {
      process.emitWarning = original;
    }
    expect(written).to.deep.equal([]);
  });

  it('refuses a file whose aliases expand without bound', () => {
    const laughs = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++)
      laughs.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(', ')}]`,
      );
    const err = problemsOf(laughs.join('\n') + '\n');
    expect(err.message).to.match(/not valid YAML/);
  });

  describe('defaults', () => {
    it('fills timeout 10m, deploymentName direct, instance default, onRunningOperation wait', () => {
      const config = parseTargetsFile('targets:\n  - argocd: {application: app}\n', 'f.yaml', {
        ARGOCD_SERVER: 'argocd:8443',
        ARGOCD_AUTH_TOKEN: 't',
      });
      const rule = config.rules[0]!;
      expect(rule.timeout).to.equal('10m');
      expect(rule.deploymentName).to.equal('direct');
      expect(rule.match).to.deep.equal({});
      expect(rule.argocd).to.deep.include({
        instance: 'default',
        onRunningOperation: 'wait',
        prune: false,
        syncOptions: [],
      });
      expect(config.instances.get('default')!.server).to.equal('https://argocd:8443');
    });

    it('fills namespace flux-system, withSource false and force false', () => {
      const rule = parseTargetsFile(flux(), 'f.yaml', {}).rules[0]!;
      expect(rule.flux).to.deep.equal({
        kind: 'Kustomization',
        name: 'app',
        namespace: 'flux-system',
        withSource: false,
        force: false,
      });
    });
  });

  describe('errors name the file, the path inside it and what is wrong', () => {
    it('an unknown top-level key', () => {
      const err = problemsOf('targetz: []\n');
      expect(err.message).to.include('/etc/keptn-gitops/config.yaml');
      expect(err.problems).to.deep.equal(["(top level): unknown key(s) 'targetz'"]);
    });

    it('an unknown key in a rule, in match, in argocd, in flux, in webhooks, in an instance and in onChange', () => {
      expect(
        problemsOf('targets:\n  - flux: {kind: Kustomization, name: a}\n    retries: 3\n').problems,
      ).to.deep.equal(["targets[0]: unknown key(s) 'retries'"]);
      expect(
        problemsOf('targets:\n  - match: {projekt: a}\n    flux: {kind: Kustomization, name: a}\n')
          .problems[0],
      ).to.equal("targets[0].match: unknown key(s) 'projekt'");
      expect(problemsOf('targets:\n  - argocd: {application: a, revision: x}\n').problems[0]).to.equal(
        "targets[0].argocd: unknown key(s) 'revision'",
      );
      expect(problemsOf(flux(', path: ./x')).problems[0]).to.equal("targets[0].flux: unknown key(s) 'path'");
      expect(problemsOf('webhooks: {githubTokenEnv: X}\n').problems[0]).to.equal(
        "webhooks: unknown key(s) 'githubTokenEnv'",
      );
      expect(
        problemsOf('argocd:\n  instances:\n    - {name: p, server: s, tokenEnv: T, token: x}\n').problems[0],
      ).to.equal("argocd.instances[0]: unknown key(s) 'token'");
      expect(problemsOf(flux() + '    onChange: {sequence: d, stage: x}\n').problems[0]).to.equal(
        "targets[0].onChange: unknown key(s) 'stage'",
      );
    });

    it('a bad flux kind', () => {
      const err = problemsOf('targets:\n  - flux: {kind: GitRepository, name: a}\n');
      expect(err.problems[0]).to.match(/^targets\[0\]\.flux\.kind: .*Kustomization.*HelmRelease/);
    });

    it('a bad onRunningOperation', () => {
      const err = problemsOf('targets:\n  - argocd: {application: a, onRunningOperation: queue}\n');
      expect(err.problems[0]).to.match(/^targets\[0\]\.argocd\.onRunningOperation: /);
    });

    it('a bad duration, quoting it', () => {
      for (const timeout of ['ten minutes', '10', '0s', '10d', '10 minutes']) {
        const err = problemsOf(
          `targets:\n  - flux: {kind: Kustomization, name: a}\n    timeout: "${timeout}"\n`,
        );
        expect(err.problems, timeout).to.deep.equal([
          `targets[0].timeout: must be a duration with a unit, such as 90s, 10m or 1h, not '${timeout}'`,
        ]);
      }
    });

    it('a bare number as the duration, saying which unit to add', () => {
      const err = problemsOf('targets:\n  - flux: {kind: Kustomization, name: a}\n    timeout: 10\n');
      expect(err.problems).to.deep.equal([
        'targets[0].timeout: must be a duration with a unit, such as 90s, 10m or 1h (a bare number has none: write 10m or 10s)',
      ]);
    });

    it('both argocd and flux, or neither', () => {
      const both = problemsOf(
        'targets:\n  - argocd: {application: a}\n    flux: {kind: Kustomization, name: a}\n',
      );
      expect(both.problems).to.deep.equal(['targets[0]: needs exactly one of argocd or flux']);
      const neither = problemsOf('targets:\n  - match: {project: a}\n');
      expect(neither.problems).to.deep.equal(['targets[0]: needs exactly one of argocd or flux']);
    });

    it('force on a Kustomization', () => {
      const err = problemsOf(flux(', force: true'));
      expect(err.problems).to.deep.equal(['targets[0].flux.force: force only applies to a HelmRelease']);
      expect(() =>
        parseTargetsFile('targets:\n  - flux: {kind: HelmRelease, name: a, force: true}\n', 'f', {}),
      ).not.to.throw();
    });

    it('onChange with a list, a missing scope key or placeholders', () => {
      const list = problemsOf(
        'targets:\n  - match: {project: p, stage: [dev, prod], service: s}\n    flux: {kind: Kustomization, name: a}\n    onChange: {sequence: d}\n',
      );
      expect(list.problems).to.deep.equal(['targets[0].match.stage: onChange needs a single value here']);
      const missing = problemsOf(
        'targets:\n  - match: {project: p, stage: dev}\n    flux: {kind: Kustomization, name: a}\n    onChange: {sequence: d}\n',
      );
      expect(missing.problems).to.deep.equal([
        'targets[0].match.service: onChange needs a single value here',
      ]);
      const placeholder = problemsOf(
        'targets:\n  - match: {project: p, stage: dev, service: s}\n    argocd: {application: "${service}"}\n    onChange: {sequence: d}\n',
        { ARGOCD_SERVER: 'a', ARGOCD_AUTH_TOKEN: 't' },
      );
      expect(placeholder.problems).to.deep.equal([
        'targets[0].argocd.application: onChange targets cannot use placeholders',
      ]);
    });

    it('an unknown placeholder', () => {
      const err = problemsOf('targets:\n  - flux: {kind: Kustomization, name: "${app}"}\n');
      expect(err.problems[0]).to.match(/^targets\[0\]\.flux\.name: unknown placeholder \$\{app\}/);
    });

    it('env vars that do not exist, without showing any value', () => {
      const err = problemsOf(PRODUCT_EXAMPLE, { ARGOCD_PROD_TOKEN: 'prod-token-secret' });
      expect(err.problems).to.include(
        'webhooks.argocdTokenEnv: environment variable ARGOCD_WEBHOOK_TOKEN is not set',
      );
      expect(err.problems).to.include(
        'webhooks.fluxHmacKeyEnv: environment variable FLUX_WEBHOOK_HMAC_KEY is not set',
      );
      expect(err.message).not.to.include('prod-token-secret');
      const inst = problemsOf(
        'argocd:\n  instances:\n    - {name: p, server: s, usernameEnv: U, passwordEnv: P}\n',
        { U: 'admin' },
      );
      expect(inst.problems).to.include('argocd.instances[0].passwordEnv: environment variable P is not set');
    });

    it('an unknown instance', () => {
      const err = problemsOf(PRODUCT_EXAMPLE.replace('instance: prod', 'instance: staging'), EXAMPLE_ENV);
      expect(err.problems).to.deep.equal(["targets[0].argocd.instance: unknown Argo CD instance 'staging'"]);
    });

    it('the default instance without ARGOCD_SERVER', () => {
      const err = problemsOf('targets:\n  - argocd: {application: a}\n');
      expect(err.problems[0]).to.equal(
        "targets[0].argocd.instance: unknown Argo CD instance 'default' (set ARGOCD_SERVER and ARGOCD_AUTH_TOKEN, or name an instance)",
      );
    });

    it('an instance with both token and login, or neither', () => {
      expect(
        problemsOf(
          'argocd:\n  instances:\n    - {name: p, server: s, tokenEnv: T, usernameEnv: U, passwordEnv: P}\n',
        ).problems[0],
      ).to.equal('argocd.instances[0]: set tokenEnv or usernameEnv + passwordEnv, not both');
      expect(problemsOf('argocd:\n  instances:\n    - {name: p, server: s}\n').problems[0]).to.equal(
        'argocd.instances[0]: needs tokenEnv, or usernameEnv and passwordEnv',
      );
    });

    it('an env var name that is not one', () => {
      const err = problemsOf('webhooks: {argocdTokenEnv: "my-token"}\n');
      expect(err.problems[0]).to.equal('webhooks.argocdTokenEnv: must be an environment variable name');
    });

    it('lists every problem at once', () => {
      const err = problemsOf(
        'targets:\n  - flux: {kind: Kustomization, name: a, force: true}\n  - flux: {kind: Bad, name: b}\n',
      );
      expect(err.problems).to.have.length(2);
      expect(err.message).to.include('targets[0].flux.force').and.to.include('targets[1].flux.kind');
    });
  });
});
