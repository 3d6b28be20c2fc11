import { Observable, type RequestContext } from '@kubernetes/client-node';
import { KubeApiError, toKubeApiError, type KubeRequestContext } from '../kube/kube-errors.js';

export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

/**
 * Per-call options for client-node's generated APIs: the caller's signal joined with a request
 * timeout, so no call to the API server can hang a renew loop or a restart.
 */
export function requestOptions(signal: AbortSignal | undefined, timeoutMs: number): object {
  const timeout = AbortSignal.timeout(timeoutMs);
  const requestSignal = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const middleware = {
    pre: (ctx: RequestContext) => {
      ctx.setSignal(requestSignal);
      return new Observable(Promise.resolve(ctx));
    },
    post: <R>(ctx: R) => new Observable(Promise.resolve(ctx)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

/** Runs one API call and turns whatever client-node throws into a KubeApiError with the request. */
export async function kubeCall<T>(request: KubeRequestContext, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    throw toKubeApiError(err, request);
  }
}

export const isNotFound = (err: unknown): boolean => err instanceof KubeApiError && err.kind === 'not-found';
/** 409: another writer changed the object first (or created it first). */
export const isConflict = (err: unknown): boolean => err instanceof KubeApiError && err.kind === 'conflict';
