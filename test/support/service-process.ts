import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ServiceProcess as SandboxServiceProcess,
  type ServiceProcessOptions as SandboxServiceProcessOptions,
} from '../../service/sandbox/service-process.js';
import { repoRoot } from './paths.js';

/** Every line any service process wrote during the test run, for the secret scan at the end. */
export const SERVICE_LOG_FILE = join(repoRoot, 'dist', 'test-service-output.log');

export type ServiceProcessOptions = Pick<SandboxServiceProcessOptions, 'env' | 'args' | 'bin'>;

/** The built service as a child process, its output also appended to SERVICE_LOG_FILE. */
export class ServiceProcess extends SandboxServiceProcess {
  constructor(options: ServiceProcessOptions) {
    super({ ...options, onOutput: (chunk) => appendFileSync(SERVICE_LOG_FILE, chunk) });
  }
}
