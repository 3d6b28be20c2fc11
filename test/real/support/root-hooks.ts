import type { Context } from 'mocha';
import { versionsLine } from './binaries.js';
import { startedCluster } from './shared-cluster.js';

let failures = 0;

/**
 * Root hooks of the real tier: print the versions the run uses; at the end stop every process the
 * cluster started (by pid) and remove its temporary directory, or keep it and print each process's
 * last log lines when a test failed.
 */
export const mochaHooks = {
  beforeAll(): void {
    console.log(`  real systems: ${versionsLine()}`);
  },
  afterEach(this: Context): void {
    if (this.currentTest?.state === 'failed') failures += 1;
  },
  async afterAll(this: Context): Promise<void> {
    this.timeout(60_000);
    const cluster = await startedCluster();
    if (!cluster) return;
    if (failures > 0) {
      console.log(
        `\n  real tier: ${failures} failure(s); logs kept in ${cluster.logDir}\n${cluster.processes.tails()}`,
      );
    }
    await cluster.stop({ keepLogs: failures > 0 });
  },
};
