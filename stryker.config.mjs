// Mutation testing (npm run test:mutation): one Stryker run per group of test/mutation/groups.json,
// chosen by MUTATION_GROUP. A group pairs the files that decide outcomes with the fast tests that
// exercise them, so each run's initial test pass stays short. Each group keeps its own incremental
// report in test/mutation/incremental/ (committed): a re-run only tests mutants whose code or tests changed.
import { readFileSync } from 'node:fs';

const groups = JSON.parse(readFileSync(new URL('./test/mutation/groups.json', import.meta.url), 'utf8'));
const name = process.env.MUTATION_GROUP;
const group = groups[name];
if (!group) {
  throw new Error(
    `MUTATION_GROUP must name a group of test/mutation/groups.json (${Object.keys(groups).join(', ')}), got ${name}`,
  );
}

export default {
  packageManager: 'npm',
  testRunner: 'mocha',
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  buildCommand: 'npm run build',
  coverageAnalysis: 'perTest',
  concurrency: Number(process.env.MUTATION_CONCURRENCY ?? 1),
  incremental: true,
  incrementalFile: `test/mutation/incremental/${name}.json`,
  tempDirName: '.stryker/tmp',
  timeoutMS: 20000,
  timeoutFactor: 2,
  thresholds: { high: 90, low: 80, break: 80 },
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: `.stryker/${name}-report.json` },
  mutate: group.mutate,
  mochaOptions: { config: 'test/mutation/mocharc.json', spec: group.spec, grep: group.grep },
  // The compiled tests stay in: the incremental report keeps their text, so a re-run reuses the results of
  // unchanged tests. Without it every test file reads as deleted and no killed mutant is reused.
  ignorePatterns: ['dist/*', '!dist/test', '.stryker'],
};
