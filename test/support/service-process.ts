import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceProcess as SandboxServiceProcess } from '../../service/sandbox/service-process.js';
import { repoRoot } from './paths.js';

/** Every line any service process wrote during the test run, for the secret scan at the end. */
export const SERVICE_LOG_FILE = join(repoRoot, 'dist', 'test-service-output.log');

export interface ServiceProcessOptions {
  env: Record<string, string>;
  /** Default: serve. */
  args?: string[];
}

/** The built service as a child process, its output also appended to SERVICE_LOG_FILE. */
export class ServiceProcess extends SandboxServiceProcess {
  constructor(options: ServiceProcessOptions) {
    super({ ...options, onOutput: (chunk) => appendFileSync(SERVICE_LOG_FILE, chunk) });
  }

  /** Parsed JSON log lines (non-JSON lines are skipped). */
  logs(): Record<string, unknown>[] {
    return this.lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }
}
