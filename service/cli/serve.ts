import { createLogger } from '../../lib/index.js';
import type { ServiceEnv } from '../config/env.js';
import { startGitopsService } from '../gitops-service.js';

/** `keptn-gitops serve`: runs until SIGTERM/SIGINT, then shuts down gracefully. */
export async function runServe(env: ServiceEnv): Promise<number> {
  const logger = createLogger({ level: env.logLevel, defaultMeta: { service: env.integrationName } });
  const service = await startGitopsService({ env, logger });
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  logger.info('shutting down', { signal, deadlineMs: env.shutdownTimeoutMs });
  await service.stop();
  logger.info('stopped');
  return 0;
}
