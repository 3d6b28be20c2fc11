import type { Application } from '../../../service/deployers/argocd/application.js';

/** An Argo CD API answer that was not 2xx, with its status and body as the server sent them. */
export class ArgoCdApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: ${status} ${body}`);
  }
}

/**
 * The calls an operator makes with the argocd CLI, as plain REST (the CLI's gRPC-gateway
 * routes): session login, account tokens and passwords, application reads. For the harness and
 * for checking what the service did, not a second client for the service.
 */
export class ArgoCdApi {
  private constructor(
    readonly server: string,
    readonly token: string,
  ) {}

  /** `POST /api/v1/session` (`argocd login`). */
  static async login(server: string, username: string, password: string): Promise<ArgoCdApi> {
    const { token } = await call<{ token: string }>(server, undefined, 'POST', '/api/v1/session', {
      username,
      password,
    });
    return new ArgoCdApi(server, token);
  }

  /** `argocd account generate-token --account <name>`: a token of an account with the apiKey capability. */
  async createToken(account: string, id: string): Promise<string> {
    const { token } = await this.call<{ token: string }>('POST', `/api/v1/account/${account}/token`, {
      name: account,
      id,
      expiresIn: 0,
    });
    return token;
  }

  /** `argocd account update-password --account <name>`, confirmed with the caller's (admin's) password. */
  async updatePassword(account: string, currentPassword: string, newPassword: string): Promise<void> {
    await this.call('PUT', '/api/v1/account/password', { name: account, currentPassword, newPassword });
  }

  getApplication(name: string): Promise<Application> {
    return this.call<Application>('GET', `/api/v1/applications/${name}`);
  }

  /** `argocd app get --refresh`: asks the controller to compare with Git now. */
  refresh(name: string): Promise<Application> {
    return this.call<Application>('GET', `/api/v1/applications/${name}?refresh=normal`);
  }

  /** `argocd app sync` with the given body fields. */
  sync(name: string, body: Record<string, unknown> = {}): Promise<Application> {
    return this.call<Application>('POST', `/api/v1/applications/${name}/sync`, { name, ...body });
  }

  call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return call<T>(this.server, this.token, method, path, body);
  }
}

/** One REST call; a non-2xx answer throws ArgoCdApiError with the raw body. */
export async function call<T>(
  server: string,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${server}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new ArgoCdApiError(res.status, text, `${method} ${path}`);
  return (text ? JSON.parse(text) : {}) as T;
}
