import type { Logger } from '../../lib/index.js';

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  meta: Record<string, unknown>;
}

/** A logger that keeps every line (with its child fields merged in), for tests that read the log. */
export class RecordingLogger implements Logger {
  constructor(
    readonly entries: LogEntry[] = [],
    private readonly fields: Record<string, unknown> = {},
  ) {}

  debug(message: string, meta?: Record<string, unknown>): void {
    this.add('debug', message, meta);
  }
  info(message: string, meta?: Record<string, unknown>): void {
    this.add('info', message, meta);
  }
  warn(message: string, meta?: Record<string, unknown>): void {
    this.add('warn', message, meta);
  }
  error(message: string, meta?: Record<string, unknown>): void {
    this.add('error', message, meta);
  }
  child(meta: Record<string, unknown>): Logger {
    return new RecordingLogger(this.entries, { ...this.fields, ...meta });
  }

  private add(level: LogEntry['level'], message: string, meta: Record<string, unknown> = {}): void {
    this.entries.push({ level, message, meta: { ...this.fields, ...meta } });
  }
}
