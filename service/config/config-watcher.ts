import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../../lib/index.js';
import type { ServiceMetrics } from '../metrics.js';
import type { GitopsConfig } from './gitops-config.js';
import { ConfigError, parseTargetsFile } from './targets-loader.js';

export interface ConfigWatcherOptions {
  file: string;
  initial: GitopsConfig;
  env: Record<string, string | undefined>;
  logger: Logger;
  metrics?: ServiceMetrics;
}

/** Content check interval; a fallback for file systems where fs.watch misses changes. */
const CHECK_INTERVAL_MS = 2000;

/**
 * Keeps the targets file current. A ConfigMap update replaces the mounted file by swapping a
 * symlink in its directory, so the directory is watched and the content compared; an invalid new
 * file is reported and the old one kept. Deliveries read `current` once, so they keep their target.
 */
export class ConfigWatcher {
  private config: GitopsConfig;
  private digest?: string;
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private checking?: Promise<void>;

  constructor(private readonly options: ConfigWatcherOptions) {
    this.config = options.initial;
  }

  get current(): GitopsConfig {
    return this.config;
  }

  async start(): Promise<void> {
    this.digest = await this.readDigest().catch(() => undefined);
    try {
      this.watcher = watch(dirname(this.options.file), () => void this.check());
      this.watcher.on('error', () => undefined);
    } catch {
      // No directory watch (e.g. some network file systems): the interval check below still works.
    }
    this.timer = setInterval(() => void this.check(), CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    this.watcher?.close();
    if (this.timer) clearInterval(this.timer);
  }

  /** Reads the file now; resolves once a change (if any) is applied or rejected. */
  check(): Promise<void> {
    this.checking ??= this.reload().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async reload(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.options.file, 'utf8');
    } catch {
      return; // Mid-swap or removed: keep the current file and look again later.
    }
    const digest = sha256(text);
    if (digest === this.digest) return;
    this.digest = digest;
    const { logger, metrics } = this.options;
    try {
      this.config = parseTargetsFile(text, this.options.file, this.options.env);
    } catch (err) {
      metrics?.configReloads.inc({ outcome: 'rejected' });
      const problems = err instanceof ConfigError ? err.problems : [(err as Error).message];
      logger.error('the changed targets file is invalid; keeping the previous one', {
        file: this.options.file,
        problems,
      });
      return;
    }
    metrics?.configReloads.inc({ outcome: 'applied' });
    logger.info('targets file reloaded', {
      file: this.options.file,
      targets: this.config.rules.length,
      note: 'uniform subscriptions are owned by the control plane after the first registration; edit them in the Bridge',
    });
  }

  private async readDigest(): Promise<string> {
    return sha256(await readFile(this.options.file, 'utf8'));
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
