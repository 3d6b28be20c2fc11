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

/**
 * Runs `call` until it succeeds, retrying errors for which `isTransient` says so with capped
 * exponential backoff; stops on a terminal error, after `attempts`, or when `signal` aborts.
 */
export async function retryWithBackoff<T>(
  call: () => Promise<T>,
  options: BackoffOptions & {
    signal?: AbortSignal;
    isTransient?: (err: unknown) => boolean;
    onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  } = {},
): Promise<T> {
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
      options.onRetry?.(err, attempt + 1, delay);
      await abortableSleep(delay, options.signal);
    }
  }
}
