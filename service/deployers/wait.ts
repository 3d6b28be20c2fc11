export interface Settle<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
}

export interface WaitOptions {
  /** Epoch ms. */
  deadline: number;
  now: () => number;
  signal: AbortSignal;
  /** The error at the deadline. */
  timeout: () => unknown;
  /** The error when `signal` aborts. */
  aborted: () => unknown;
}

/**
 * A follower's wait: `start` hands out the settle functions (and may return a clean-up); the wait
 * rejects at the deadline or when the signal aborts (at once, without `start`, if it already has).
 * The timer and the abort listener go however it ends: a pending timer would keep a stopping process
 * alive until the deadline.
 */
export function waitWithDeadline<T>(
  options: WaitOptions,
  start: (settle: Settle<T>) => (() => void) | void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    let cleanup: (() => void) | void = undefined;
    const finish = (fn: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      cleanup?.();
      fn();
    };
    const timer = setTimeout(
      () => finish(() => reject(options.timeout())),
      Math.max(0, options.deadline - options.now()),
    );
    const onAbort = () => finish(() => reject(options.aborted()));
    if (options.signal.aborted) return onAbort();
    options.signal.addEventListener('abort', onAbort, { once: true });
    cleanup = start({ resolve: (v) => finish(() => resolve(v)), reject: (e) => finish(() => reject(e)) });
    if (done) cleanup?.();
  });
}
