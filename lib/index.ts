// The Keptn SDK's public surface: service/ imports lib only through this file.
export { createLogger, silentLogger } from './log.js';
export type { Logger, LoggerOptions } from './log.js';
