import { abortableSleep, backoffDelay as sdkBackoffDelay } from '../../lib/index.js';

/** Retry pacing of the Kubernetes and Argo CD clients: capped exponential backoff with jitter. */
export interface BackoffOptions {
  /** First delay. */
  baseMs: number;
  /** Cap on one delay. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 200, maxMs: 10_000 };

/** The SDK's backoff (attempt 0 waits about baseMs, doubling up to maxMs, jitter in the upper half). */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  return sdkBackoffDelay(attempt, { initialMs: options.baseMs, maxMs: options.maxMs }, random);
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export const delay = abortableSleep;
