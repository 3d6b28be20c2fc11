import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DEMO_ARGOCD_TOKEN } from '../../service/demo/demo-sandbox.js';
import {
  E2E_ARGOCD_TOKEN,
  E2E_ARGOCD_WEBHOOK_TOKEN,
  E2E_FLUX_HMAC_KEY,
  E2E_KEPTN_TOKEN,
  E2E_KUBE_TOKEN,
} from './e2e-harness.js';
import { SERVICE_LOG_FILE } from './service-process.js';

/** Credentials the suite hands to service processes; none may ever reach their output. */
export const TEST_SECRETS = [
  E2E_ARGOCD_TOKEN,
  E2E_KEPTN_TOKEN,
  DEMO_ARGOCD_TOKEN,
  E2E_ARGOCD_WEBHOOK_TOKEN,
  E2E_FLUX_HMAC_KEY,
  E2E_KUBE_TOKEN,
];

/**
 * The run's own temporary folder: every folder a test or sandbox makes goes in it, and it goes at the end.
 */
let runTmpDir: string | undefined;
const originalTmpDir = process.env.TMPDIR;

/**
 * Root hooks: every temporary folder of the run is made under one folder that is removed at the
 * end, whatever the tests forget to remove. Every service and CLI process the suite starts appends its output
 * to one file; after the whole run that file is scanned for the test credentials. A token in a log line fails
 * the run.
 */
export const mochaHooks = {
  beforeAll(): void {
    runTmpDir = mkdtempSync(join(tmpdir(), 'keptn-gitops-test-'));
    process.env.TMPDIR = runTmpDir;
    mkdirSync(dirname(SERVICE_LOG_FILE), { recursive: true });
    writeFileSync(SERVICE_LOG_FILE, '');
  },
  afterAll(): void {
    if (runTmpDir) rmSync(runTmpDir, { recursive: true, force: true });
    if (originalTmpDir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = originalTmpDir;
    if (!existsSync(SERVICE_LOG_FILE)) return;
    const output = readFileSync(SERVICE_LOG_FILE, 'utf8');
    const leaked = TEST_SECRETS.filter((secret) => output.includes(secret));
    if (leaked.length > 0) {
      throw new Error(
        `${leaked.length} test credential(s) appeared in service log output (${SERVICE_LOG_FILE}); secrets must never be logged`,
      );
    }
  },
};
