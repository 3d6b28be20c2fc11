import { abortableSleep } from '../../lib/index.js';

export interface RepeaterOptions {
  /** Fixed, or asked again before every pause (a leader renews more often than a standby retries). */
  intervalMs: number | (() => number);
  tick: (signal: AbortSignal) => Promise<void>;
  /** What a failed background tick is reported to; the ticks go on. */
  onError: (err: unknown) => void;
  /** Called once the background ticks have ended (by `stop()` or the start signal). */
  onEnd?: () => void;
}

/**
 * One tick now, then one every interval in the background until `stop()`; what renews a Lease.
 * Aborting the start signal ends the ticks as a crash would, without `stop()`'s clean-up.
 */
export class Repeater {
  private running?: { controller: AbortController; loop: Promise<void> };

  constructor(
    /** Names it in the error of a second `start()`. */
    private readonly what: string,
    private readonly options: RepeaterOptions,
  ) {}

  /** Runs the first tick (its failure is thrown, and nothing repeats), then repeats in the background. */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.running) throw new Error(`${this.what} is already started`);
    const controller = new AbortController();
    const stopSignal = signal ? AbortSignal.any([signal, controller.signal]) : controller.signal;
    await this.options.tick(stopSignal);
    const loop = this.repeat(stopSignal).then(() => this.options.onEnd?.());
    this.running = { controller, loop };
  }

  /** Ends the ticks and waits for them; false when it was not running. */
  async stop(): Promise<boolean> {
    const running = this.running;
    if (!running) return false;
    this.running = undefined;
    running.controller.abort();
    await running.loop;
    return true;
  }

  private async repeat(signal: AbortSignal): Promise<void> {
    const { intervalMs, tick, onError } = this.options;
    const interval = typeof intervalMs === 'number' ? () => intervalMs : intervalMs;
    while (await pause(interval(), signal)) {
      try {
        await tick(signal);
      } catch (err) {
        if (!signal.aborted) onError(err);
      }
    }
  }
}

/** false when the signal aborted the pause. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  try {
    await abortableSleep(ms, signal);
    return true;
  } catch {
    return false;
  }
}
