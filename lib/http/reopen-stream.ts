import { abortableSleep, backoffDelay, type BackoffOptions } from './backoff.js';

export interface ReopenOptions {
  signal: AbortSignal;
  backoff: BackoffOptions;
  /** Drops in a row reopened at once before the backoff starts; default 0. */
  immediateReopens?: number;
  /**
   * Whether a stream that ends without an error counts as a drop (a stream that starts over, which
   * a server ends when it restarts); default false: reopened at once, as a watch the server ends
   * on its timeout.
   */
  endIsDrop?: boolean;
  /** Told of each failure and the wait before the next attempt; `stop` ends the loop (a terminal failure). */
  onFailure: (err: unknown, delayMs: number) => 'reopen' | 'stop';
}

/**
 * The one reconnect loop for long-lived streams (a Kubernetes watch, an Argo CD application
 * stream): opens the stream again whenever it ends or fails, backing off over drops in a row,
 * until `signal` aborts (`aborted`) or `onFailure` says stop (`stopped`). `open` calls `progress`
 * on every event, which ends the run of drops.
 */
export async function reopenStream(
  open: (progress: () => void) => Promise<void>,
  options: ReopenOptions,
): Promise<'aborted' | 'stopped'> {
  const { signal, immediateReopens = 0 } = options;
  let drops = 0;
  while (!signal.aborted) {
    let failed = false;
    let error: unknown;
    try {
      await open(() => (drops = 0));
      if (!options.endIsDrop) continue;
    } catch (err) {
      if (signal.aborted) break;
      failed = true;
      error = err;
    }
    const delayMs = drops < immediateReopens ? 0 : backoffDelay(drops - immediateReopens, options.backoff);
    drops++;
    if (failed && options.onFailure(error, delayMs) === 'stop') return 'stopped';
    if (delayMs > 0) await abortableSleep(delayMs, signal).catch(() => undefined);
  }
  return 'aborted';
}
