import { expect } from 'chai';
import { Ajv } from 'ajv';
import { z } from 'zod';
import { targetsFileSchema } from '../../service/config/targets-schema.js';
import {
  ciValuesFiles,
  defaultValues,
  e2eValues,
  schemaLookup,
  valuesSchema,
  type Values,
} from './chart-files.js';

/** Helm validates the defaults merged with the user's values; so do these tests. */
function merge(base: unknown, over: unknown): unknown {
  if (!isObject(base) || !isObject(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? merge(base[k], v) : v;
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function validator() {
  const ajv = new Ajv({ allErrors: true, strict: false });
  return ajv.compile(valuesSchema());
}

function errorsFor(overrides: Values): string[] {
  const validate = validator();
  validate(merge(defaultValues(), overrides));
  return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
}

describe('chart values.schema.json', () => {
  it('accepts the default values.yaml', () => {
    expect(errorsFor({})).to.deep.equal([]);
  });

  for (const [file, values] of ciValuesFiles()) {
    it(`accepts chart/ci/${file} merged over the defaults`, () => {
      expect(errorsFor(values)).to.deep.equal([]);
    });
  }

  it('accepts the values of the CI e2e install', () => {
    expect(errorsFor(e2eValues())).to.deep.equal([]);
    expect(targetsFileSchema.safeParse((e2eValues().targets as Values).config).success).to.equal(true);
  });

  it('ships the three example values files', () => {
    expect(ciValuesFiles().map(([f]) => f)).to.include.members([
      'in-cluster-values.yaml',
      'remote-control-plane-values.yaml',
      'cluster-wide-values.yaml',
    ]);
  });

  it('rejects a replicaCount that is not a number', () => {
    expect(errorsFor({ replicaCount: 'two' }).join()).to.contain('/replicaCount');
  });

  it('rejects an unknown top-level key', () => {
    expect(errorsFor({ replicas: 2 }).join()).to.contain('replicas');
  });

  it('rejects an unknown key inside remoteControlPlane.api', () => {
    expect(errorsFor({ remoteControlPlane: { api: { host: 'keptn.example.com' } } }).join()).to.contain(
      'host',
    );
  });

  it('rejects a misspelt container securityContext field', () => {
    expect(errorsFor({ securityContext: { readOnlyRootFileSystem: true } }).join()).to.contain(
      'readOnlyRootFileSystem',
    );
  });

  it('rejects a log level the service does not know', () => {
    expect(errorsFor({ logLevel: 'trace' }).join()).to.contain('/logLevel');
  });

  it('rejects a Keptn API protocol other than http or https', () => {
    expect(errorsFor({ remoteControlPlane: { api: { protocol: 'ftp' } } }).join()).to.contain(
      '/remoteControlPlane/api/protocol',
    );
  });

  it('rejects a Keptn API hostname given as a URL', () => {
    expect(
      errorsFor({ remoteControlPlane: { api: { hostname: 'https://keptn.example.com/api' } } }).join(),
    ).to.contain('/remoteControlPlane/api/hostname');
  });

  it('accepts a Keptn API hostname with a port and a path prefix', () => {
    expect(
      errorsFor({ remoteControlPlane: { api: { hostname: 'keptn.example.com:8443/keptn' } } }),
    ).to.deep.equal([]);
  });

  it('rejects a validateTls given as a string', () => {
    expect(errorsFor({ remoteControlPlane: { api: { validateTls: 'false' } } }).join()).to.contain(
      'validateTls',
    );
  });

  it('rejects a port out of range', () => {
    expect(errorsFor({ ports: { webhook: 70000 } }).join()).to.contain('/ports/webhook');
  });

  it('rejects an empty task list', () => {
    expect(errorsFor({ tasks: [] }).join()).to.contain('/tasks');
  });

  it('rejects an unknown key in the targets file', () => {
    const errors = errorsFor({
      targets: {
        config: {
          targets: [{ match: { project: 'p' }, flux: { kind: 'Kustomization', name: 'a', namspace: 'x' } }],
        },
      },
    });
    expect(errors.join()).to.contain('namspace');
  });

  it('rejects a Flux kind the service does not deploy', () => {
    const errors = errorsFor({
      targets: { config: { targets: [{ flux: { kind: 'GitRepository', name: 'a' } }] } },
    });
    expect(errors.join()).to.contain('/targets/config/targets/0/flux/kind');
  });

  it('rejects a target with both argocd and flux', () => {
    const errors = errorsFor({
      targets: {
        config: { targets: [{ argocd: { application: 'a' }, flux: { kind: 'Kustomization', name: 'a' } }] },
      },
    });
    expect(errors).to.not.deep.equal([]);
  });

  it('rejects a timeout that is not a duration', () => {
    const errors = errorsFor({
      targets: { config: { targets: [{ argocd: { application: 'a' }, timeout: '10 minutes' }] } },
    });
    expect(errors.join()).to.contain('/targets/config/targets/0/timeout');
  });

  it('rejects a terminationGracePeriodSeconds given as a string', () => {
    expect(errorsFor({ terminationGracePeriodSeconds: '60' }).join()).to.contain(
      '/terminationGracePeriodSeconds',
    );
  });

  it('closes every object of the schema that lists its properties', () => {
    const open: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (!isObject(node)) return;
      if (isObject(node.properties) && node.additionalProperties !== false) open.push(path || '/');
      for (const [k, v] of Object.entries(node)) {
        if (isObject(v) || Array.isArray(v)) {
          if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}/${k}/${i}`));
          else walk(v, `${path}/${k}`);
        }
      }
    };
    walk(valuesSchema(), '');
    expect(open).to.deep.equal([]);
  });

  it("uses only patterns that Go regexp (helm's validator) can compile", () => {
    const patterns: string[] = [];
    JSON.stringify(valuesSchema(), (key, value: unknown) => {
      if (key === 'pattern' && typeof value === 'string') patterns.push(value);
      return value;
    });
    expect(patterns.length).to.be.greaterThan(5);
    expect(patterns.filter((p) => /\(\?[=!<]|\\[1-9]/.test(p))).to.deep.equal([]);
  });

  it('gives every default value a type in the schema', () => {
    const untyped: string[] = [];
    const walk = (values: Record<string, unknown>, schema: Record<string, unknown>, path: string): void => {
      const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
      for (const [k, v] of Object.entries(values)) {
        const sub = props[k];
        if (!sub || !(sub.type || sub.oneOf)) untyped.push(`${path}.${k}`);
        else if (isObject(v) && sub.properties) walk(v, sub, `${path}.${k}`);
      }
    };
    walk(defaultValues(), valuesSchema(), '');
    expect(untyped).to.deep.equal([]);
  });
});

describe('chart example targets files', () => {
  for (const [file, values] of ciValuesFiles()) {
    const config = (values.targets as Values | undefined)?.config;
    if (config === undefined) continue;
    it(`chart/ci/${file}: targets.config is a valid targets file for the service`, () => {
      const parsed = targetsFileSchema.safeParse(config);
      expect(parsed.success, JSON.stringify(parsed.error?.issues)).to.equal(true);
    });
  }

  it('the chart schema and the service reject the same unknown target key', () => {
    const config = { targets: [{ match: { project: 'p' }, argocd: { application: 'a', prun: true } }] };
    expect(targetsFileSchema.safeParse(config).success).to.equal(false);
    expect(errorsFor({ targets: { config } }).join()).to.contain('prun');
  });
});

/** Each object's keys and each enum, by path, following properties and array items. */
function shape(node: unknown, path = '', out: Record<string, string[]> = {}): Record<string, string[]> {
  if (!isObject(node)) return out;
  if (isObject(node.properties)) {
    out[`${path} keys`] = Object.keys(node.properties).sort();
    for (const [k, v] of Object.entries(node.properties)) shape(v, `${path}.${k}`, out);
  }
  if (Array.isArray(node.enum)) out[`${path} enum`] = node.enum.map(String).sort();
  if (isObject(node.items)) shape(node.items, `${path}[]`, out);
  return out;
}

describe('chart schema of targets.config', () => {
  it("has the same keys and enums as the service's targets-file schema", () => {
    const service = z.toJSONSchema(targetsFileSchema, { io: 'input', unrepresentable: 'any' });
    const chart = schemaLookup(valuesSchema(), ['targets', 'config']);
    expect(shape(chart)).to.deep.equal(shape(service));
  });
});
