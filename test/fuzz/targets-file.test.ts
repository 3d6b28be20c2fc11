import { expect } from 'chai';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { ConfigError, parseTargetsFile } from '../../service/config/targets-loader.js';
import { EXAMPLE_ENV, PRODUCT_EXAMPLE } from '../service/config/product-example.js';
import { mutatedJson, mutatedText } from './mutations.js';

const FILE = '/etc/keptn-gitops/config.yaml';
/**
 * A problem starts with where it is (`targets[0].argocd.instance: …`, `(top level): …` for the
 * document itself) or says the YAML is broken.
 */
const PROBLEM = /^(not valid YAML\b|\(top level\): \S|[A-Za-z_$][\w$-]*(\[\d+\]|\.[^\s:]+)*: \S)/;

/** Parses, and returns the ConfigError if there was one; anything else thrown fails the property. */
function parseOrConfigError(text: string): ConfigError | undefined {
  try {
    parseTargetsFile(text, FILE, EXAMPLE_ENV);
    return undefined;
  } catch (err) {
    if (!(err instanceof ConfigError))
      throw new Error(`threw ${(err as Error)?.name}, not ConfigError: ${(err as Error)?.message}`, {
        cause: err,
      });
    return err;
  }
}

function checkConfigError(err: ConfigError | undefined): void {
  if (!err) return;
  expect(err.file).to.equal(FILE);
  expect(err.message).to.include(FILE);
  expect(err.problems).to.not.be.empty;
  for (const problem of err.problems) expect(problem).to.match(PROBLEM);
}

const check = (text: string) => checkConfigError(parseOrConfigError(text));

/** Documents shaped like targets files: their keys, with arbitrary values in between. */
const targetsLike = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 1 }),
    tie('object'),
    fc.array(tie('object'), { maxLength: 3 }),
  ),
  object: fc.dictionary(
    fc.constantFrom(
      'argocd',
      'flux',
      'instances',
      'webhooks',
      'targets',
      'match',
      'project',
      'stage',
      'service',
      'application',
      'instance',
      'name',
      'server',
      'tokenEnv',
      'kind',
      'namespace',
      'timeout',
      'onChange',
      'sequence',
      'force',
      'x',
    ),
    tie('value'),
    { maxKeys: 5 },
  ),
}));

describe('parseTargetsFile under fuzzing', () => {
  it('parses the product example (the seed of the mutations)', () => {
    expect(parseOrConfigError(PRODUCT_EXAMPLE)).to.equal(undefined);
  });

  it('throws only ConfigError naming the file and where, on arbitrary text', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme-composite', maxLength: 300 }), check), {
      numRuns: 500,
    });
  });

  it('throws only ConfigError naming the file and a path, on arbitrary YAML documents', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (doc) => check(stringify(doc))),
      { numRuns: 500 },
    );
  });

  it('throws only ConfigError naming the file and a path, on documents shaped like targets files', () => {
    fc.assert(
      fc.property(targetsLike.object, (doc) => check(stringify(doc))),
      { numRuns: 500 },
    );
  });

  it('throws only ConfigError naming the file and a path, on the product example with one value changed', () => {
    const example = parse(PRODUCT_EXAMPLE) as unknown;
    fc.assert(
      fc.property(mutatedJson(example), (doc) => check(stringify(doc) ?? '')),
      { numRuns: 1000 },
    );
  });

  it('throws only ConfigError, on the product example text cut, spliced or with a character changed', () => {
    fc.assert(fc.property(mutatedText(PRODUCT_EXAMPLE), check), { numRuns: 1000 });
  });
});
