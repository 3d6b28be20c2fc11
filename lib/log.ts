import winston from 'winston';
import type { Writable } from 'node:stream';

/** The logger every part takes in its options; winston's logger satisfies it. */
export interface Logger {
  debug(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
  child(meta: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: string;
  /** Where JSON lines go; default stdout. */
  stream?: Writable;
  /** Fields on every line, e.g. `{service: 'gitops-service'}`. */
  defaultMeta?: Record<string, unknown>;
}

/** Structured JSON logs, one object a line. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const transport = options.stream
    ? new winston.transports.Stream({ stream: options.stream })
    : new winston.transports.Console();
  return leveled(
    winston.createLogger({
      level: options.level ?? 'info',
      format: winston.format.combine(
        winston.format.timestamp(),
        winston.format.errors({ stack: false }),
        winston.format.json(),
      ),
      defaultMeta: options.defaultMeta,
      transports: [transport],
    }),
  );
}

/**
 * winston formats every line (timestamp, JSON) before its transports drop the ones below the
 * level; this drops them first, so a debug line costs nothing at `LOG_LEVEL=warn`.
 */
function leveled(logger: winston.Logger): Logger {
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') => (message: string, meta?: Record<string, unknown>) => {
      if (!logger.isLevelEnabled(level)) return;
      if (meta) logger.log(level, message, meta);
      else logger.log(level, message);
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (meta) => leveled(logger.child(meta)),
  };
}

/** A logger that drops everything, for tests that do not look at logs. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};
