// npm run test:mutation [group ...]: runs Stryker once per group of groups.json (all groups without
// arguments), then prints each mutated file's score as the README's table and fails when a file is below
// the break threshold. Stryker's own break threshold covers a whole run; the promise is per file.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../support/paths.js';

const BREAK = 80;

interface Group {
  mutate: string[];
  spec: string[];
}

interface Report {
  files: Record<string, { mutants: { status: string }[] }>;
}

interface FileScore {
  file: string;
  mutants: number;
  detected: number;
  survived: number;
  noCoverage: number;
  score: number;
}

/** Stryker's mutation score: killed and timed-out over every valid mutant (compile errors are not valid). */
function fileScore(file: string, statuses: string[]): FileScore {
  const count = (...wanted: string[]) => statuses.filter((s) => wanted.includes(s)).length;
  const detected = count('Killed', 'Timeout');
  const survived = count('Survived');
  const noCoverage = count('NoCoverage');
  const mutants = detected + survived + noCoverage;
  return {
    file,
    mutants,
    detected,
    survived,
    noCoverage,
    score: mutants === 0 ? 100 : (100 * detected) / mutants,
  };
}

function scoreTable(scores: FileScore[]): string {
  const rows = scores.map(
    (s) =>
      `| \`${s.file}\` | ${s.mutants} | ${s.detected} | ${s.survived} | ${s.noCoverage} | ${s.score.toFixed(1)}% |`,
  );
  return [
    '| file | mutants | killed + timed out | survived | not covered | score |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

function runGroup(name: string): FileScore[] {
  const stryker = spawnSync('npx', ['stryker', 'run', 'stryker.config.mjs'], {
    cwd: repoRoot,
    stdio: 'inherit',
    env: { ...process.env, MUTATION_GROUP: name },
  });
  if (stryker.status !== 0 && stryker.status !== 1) {
    throw new Error(`stryker failed for group ${name} (exit ${stryker.status ?? stryker.signal})`);
  }
  const report = JSON.parse(
    readFileSync(join(repoRoot, '.stryker', `${name}-report.json`), 'utf8'),
  ) as Report;
  return Object.entries(report.files).map(([file, result]) =>
    fileScore(
      file,
      result.mutants.map((m) => m.status),
    ),
  );
}

function main(): void {
  const groups = JSON.parse(readFileSync(join(repoRoot, 'test/mutation/groups.json'), 'utf8')) as Record<
    string,
    Group
  >;
  const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(groups);
  const unknown = names.filter((n) => !groups[n]);
  if (unknown.length > 0)
    throw new Error(`no mutation group ${unknown.join(', ')} in test/mutation/groups.json`);
  const scores = names.flatMap(runGroup);
  console.log(`\nMutation score per file (break: ${BREAK}%)\n\n${scoreTable(scores)}\n`);
  const low = scores.filter((s) => s.score < BREAK);
  if (low.length > 0) {
    console.error(`below ${BREAK}%: ${low.map((s) => `${s.file} ${s.score.toFixed(1)}%`).join(', ')}`);
    process.exitCode = 1;
  }
}

main();
