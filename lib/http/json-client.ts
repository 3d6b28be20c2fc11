import { RemoteCallError } from './remote-call-error.js';
import { request as httpRequest, Agent as HttpAgent } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';

/** A token that must not be printed: a string, or an object like the service's `Secret`. */
export type TokenSource = string | { reveal(): string };

/** What went wrong talking to the Keptn API (which request); `transient` ones are retried. */
export class KeptnApiError extends RemoteCallError {
  override readonly name = 'KeptnApiError';
  constructor(
    message: string,
    readonly details: { method: string; url: string; status?: number },
    options?: { cause?: unknown },
  ) {
    super('Keptn API', message, { status: details.status, cause: options?.cause });
  }
}

export interface JsonResponse<T = unknown> {
  status: number;
  body: T;
}

export interface JsonClientOptions {
  /** Sent as `x-token` when set. */
  token?: TokenSource;
  /** false: accept any TLS certificate (`HTTP_SSL_VERIFY=false`). */
  sslVerify?: boolean;
  /** Per request; default 30 s (`API_PROXY_HTTP_TIMEOUT`). */
  timeoutMs?: number;
}

/** JSON over node:http(s), with `x-token`, keep-alive and optional TLS verification off. */
export class JsonClient {
  private readonly httpAgent = new HttpAgent({ keepAlive: true });
  private readonly httpsAgent: HttpsAgent;

  constructor(private readonly options: JsonClientOptions = {}) {
    this.httpsAgent = new HttpsAgent({ keepAlive: true, rejectUnauthorized: options.sslVerify !== false });
  }

  /** Any status comes back; only network failures throw (KeptnApiError, transient but for TLS). */
  request<T = unknown>(
    method: string,
    url: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<JsonResponse<T>> {
    const target = new URL(url);
    const https = target.protocol === 'https:';
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const token = this.options.token;
    if (token) headers['x-token'] = typeof token === 'string' ? token : token.reveal();
    const where = `${method} ${target.origin}${target.pathname}`;
    return new Promise((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)(
        target,
        {
          method,
          headers,
          agent: https ? this.httpsAgent : this.httpAgent,
          timeout: this.options.timeoutMs ?? 30_000,
          signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) =>
            reject(
              new KeptnApiError(
                `${where}: response failed: ${err.message}`,
                { method, url: where },
                { cause: err },
              ),
            ),
          );
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              // not JSON: keep the text for the error message
            }
            resolve({ status: res.statusCode ?? 0, body: parsed as T });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (err) => {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        reject(
          new KeptnApiError(
            `${where} failed: ${err.message}${code ? ` (${code})` : ''}`,
            { method, url: where },
            { cause: err },
          ),
        );
      });
      req.end(payload);
    });
  }

  /** Like `request` but a non-2xx status throws KeptnApiError (transient by `isTransientFailure`). */
  async expectOk<T = unknown>(
    method: string,
    url: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<JsonResponse<T>> {
    const res = await this.request<T>(method, url, body, signal);
    if (res.status < 200 || res.status >= 300) {
      const message =
        (res.body as { message?: string } | undefined)?.message ??
        (typeof res.body === 'string' ? res.body.slice(0, 200) : '');
      throw new KeptnApiError(
        `${method} ${new URL(url).pathname} answered ${res.status}${message ? `: ${message}` : ''}`,
        { method, url: new URL(url).pathname, status: res.status },
      );
    }
    return res;
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
