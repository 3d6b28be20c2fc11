export interface BackoffOptions {
  /** First delay; default 500 ms. */
  initialMs?: number;
  /** Cap; default 30 s. */
  maxMs?: number;
  /** Attempts in all; default unlimited. */
  attempts?: number;
}

/** Capped exponential backoff with jitter: initial, 2x, 4x ... up to max. */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const initial = options.initialMs ?? 500;
  const max = options.maxMs ?? 30_000;
  const base = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.round(base / 2 + (random() * base) / 2);
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** What limits a call that retries: what cancels it, and the time after which it is not retried. */
export interface CallLimits {
  signal?: AbortSignal;
  /** Epoch ms: no retry whose wait would end at or after it. */
  deadline?: number;
}

export interface RetryOptions extends BackoffOptions, CallLimits {
  /** The clock of `deadline`; default Date.now. */
  now?: () => number;
  /** Whether an error may be retried at all; default every error. */
  isTransient?: (err: unknown) => boolean;
  /** Asked last before each retry of a transient error (it may look at the world); false ends them. */
  retryIf?: (err: unknown) => Promise<boolean>;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/**
 * The one retry loop: runs `call` until it succeeds, retrying errors for which `isTransient` says so
 * with capped exponential backoff; stops on a terminal error, after `attempts`, at the deadline, or
 * when `signal` aborts.
 */
export async function retryWithBackoff<T>(call: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const now = options.now ?? Date.now;
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const transient = options.isTransient ? options.isTransient(err) : true;
      if (
        !transient ||
        options.signal?.aborted ||
        (options.attempts !== undefined && attempt + 1 >= options.attempts)
      )
        throw err;
      const delay = backoffDelay(attempt, options);
      if (options.deadline !== undefined && now() + delay >= options.deadline) throw err;
      if (options.retryIf && !(await options.retryIf(err))) throw err;
      options.onRetry?.(err, attempt + 1, delay);
      await abortableSleep(delay, options.signal);
    }
  }
}
