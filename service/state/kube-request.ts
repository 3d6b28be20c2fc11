import { KubeApiError } from '../kube/kube-errors.js';

export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

export const isNotFound = (err: unknown): boolean => err instanceof KubeApiError && err.kind === 'not-found';
/** 409: another writer changed the object first (or created it first). */
export const isConflict = (err: unknown): boolean => err instanceof KubeApiError && err.kind === 'conflict';
