import { delay } from '../util/backoff.js';

export interface RepeatOptions {
  /** Fixed, or asked again before every pause (a leader renews more often than a standby retries). */
  intervalMs: number | (() => number);
  /** Ends the loop; an interval in progress is cut short. */
  signal: AbortSignal;
  /** Wait one interval before the first tick (the caller has just done it). */
  waitFirst?: boolean;
  tick: () => Promise<void>;
  /** What a failed tick is reported to; the loop goes on. */
  onError: (err: unknown) => void;
}

/** Calls `tick` every interval until the signal aborts; resolves once it has stopped. */
export async function repeatUntilAborted(options: RepeatOptions): Promise<void> {
  const { signal, tick, onError } = options;
  const interval = typeof options.intervalMs === 'number' ? () => options.intervalMs as number : options.intervalMs;
  if (options.waitFirst && !(await pause(interval(), signal))) return;
  while (!signal.aborted) {
    try {
      await tick();
    } catch (err) {
      if (!signal.aborted) onError(err);
    }
    if (!(await pause(interval(), signal))) return;
  }
}

/** false when the signal aborted the pause. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await delay(ms, signal);
    return true;
  } catch {
    return false;
  }
}
