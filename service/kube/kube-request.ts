import type { KubeCallOptions, KubeClient } from './kube-client.js';
import type { ResourceRef } from './kube-api.js';
import { KubeApiError } from './kube-errors.js';

export const isNotFound = (err: unknown): boolean => err instanceof KubeApiError && err.kind === 'not-found';
/** 409: another writer changed the object first (or created it first). */
export const isConflict = (err: unknown): boolean => err instanceof KubeApiError && err.kind === 'conflict';

/**
 * GET of the object through the client's retries, or undefined when it does not exist (404); other
 * failures are thrown.
 */
export async function getOrUndefined<T>(
  client: Pick<KubeClient, 'get'>,
  ref: ResourceRef,
  namespace: string,
  name: string,
  options?: KubeCallOptions,
): Promise<T | undefined> {
  try {
    return await client.get<T>(ref, namespace, name, options);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
