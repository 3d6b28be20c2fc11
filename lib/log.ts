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
  return winston.createLogger({
    level: options.level ?? 'info',
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: false }), winston.format.json()),
    defaultMeta: options.defaultMeta,
    transports: [transport],
  });
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
