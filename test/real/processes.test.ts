import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from '../support/eventually.js';

const processesModule = fileURLToPath(new URL('./support/processes.js', import.meta.url));

/** A process that has exited but not been reaped is gone for every purpose a test has. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('real tier harness: processes it starts do not outlive an interrupted run', function () {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    it(`kills what it started when the test runner gets ${sig}`, async function () {
      const logDir = mkdtempSync(join(tmpdir(), 'keptn-gitops-processes-'));
      try {
        const script = `
          const { ProcessGroup } = await import(${JSON.stringify(processesModule)});
          const group = new ProcessGroup(${JSON.stringify(logDir)});
          const proc = group.start({ name: 'sleeper', command: 'sleep', args: ['300'] });
          console.log(proc.pid);
          setInterval(() => {}, 1000);`;
        const runner = spawn(process.execPath, ['--input-type=module', '-e', script], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        const sleeperPid = await new Promise<number>((resolve, reject) => {
          runner.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
          runner.once('exit', () => reject(new Error('the runner exited before starting its process')));
        });
        expect(isAlive(sleeperPid)).to.equal(true);
        const exited = new Promise((resolve) => runner.once('exit', (_code, signal) => resolve(signal)));
        runner.kill(sig);
        expect(await exited).to.equal(sig);
        await eventually(() => expect(isAlive(sleeperPid), `sleep (pid ${sleeperPid})`).to.equal(false));
      } finally {
        rmSync(logDir, { recursive: true, force: true });
      }
    });
  }
});
