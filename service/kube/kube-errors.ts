import { RemoteCallError } from '../../lib/index.js';

/** What went wrong talking to the Kubernetes API; whether it is transient is the SDK's one rule. */
export const KUBE_ERROR_KINDS = {
  notFound: 'not-found',
  forbidden: 'forbidden',
  unauthorized: 'unauthorized',
  conflict: 'conflict',
  invalid: 'invalid',
  gone: 'gone',
  unsupported: 'unsupported',
  server: 'server',
  timeout: 'timeout',
  reset: 'reset',
  unreachable: 'unreachable',
} as const;
export type KubeErrorKind = (typeof KUBE_ERROR_KINDS)[keyof typeof KUBE_ERROR_KINDS];

export interface KubeRequestContext {
  verb: string;
  /** `<plural>.<group>` as the API server names it, e.g. `kustomizations.kustomize.toolkit.fluxcd.io`. */
  resource: string;
  namespace?: string;
  name?: string;
}

/** A failed Kubernetes API call with the request it belongs to; the message never holds credentials. */
export class KubeApiError extends RemoteCallError {
  constructor(
    readonly kind: KubeErrorKind,
    readonly request: KubeRequestContext,
    status: number | undefined,
    detail: string,
    options?: { cause?: unknown; transient?: boolean },
  ) {
    super('Kubernetes API', `${request.verb} ${describeObject(request)}: ${detail}`, { ...options, status });
    this.name = 'KubeApiError';
  }
}

export function describeObject(request: KubeRequestContext): string {
  const what = request.name ? `${request.resource} "${request.name}"` : request.resource;
  return request.namespace ? `${what} in namespace ${request.namespace}` : what;
}

/**
 * Maps what a call can throw (an HTTP status with its body, undici's network and timeout errors, an abort) to
 * a KubeApiError.
 */
export function toKubeApiError(err: unknown, request: KubeRequestContext): KubeApiError {
  if (err instanceof KubeApiError) return err;
  const e = err as { code?: unknown; body?: unknown; name?: string; message?: string; statusCode?: number };
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  if (status !== undefined)
    return new KubeApiError(
      kindForStatus(status),
      request,
      status,
      `${status} ${statusMessage(e.body) ?? ''}`.trim(),
      { cause: err },
    );
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (
    e.name === 'AbortError' ||
    e.name === 'TimeoutError' ||
    code === 'ETIMEDOUT' ||
    (code !== undefined && TIMEOUT_CODES.has(code))
  ) {
    return new KubeApiError('timeout', request, undefined, 'request timed out', { cause: err });
  }
  if (
    code === 'ECONNRESET' ||
    code === 'EPIPE' ||
    code === 'UND_ERR_SOCKET' ||
    /socket hang up|other side closed/i.test(e.message ?? '')
  ) {
    return new KubeApiError('reset', request, undefined, 'connection reset', { cause: err });
  }
  return new KubeApiError(
    'unreachable',
    request,
    undefined,
    `API server unreachable (${code ?? e.message ?? 'unknown error'})`,
    { cause: err },
  );
}

const TIMEOUT_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function kindForStatus(status: number): KubeErrorKind {
  if (status === 404) return 'not-found';
  if (status === 403) return 'forbidden';
  if (status === 401) return 'unauthorized';
  if (status === 409) return 'conflict';
  if (status === 410) return 'gone';
  if (status === 415) return 'unsupported';
  if (status === 400 || status === 422) return 'invalid';
  if (status === 408 || status === 504) return 'timeout';
  if (status === 429 || status >= 500) return 'server';
  return 'invalid';
}

function statusMessage(body: unknown): string | undefined {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.slice(0, 300);
    }
  }
  const message = (parsed as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : undefined;
}
