import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { z } from 'zod';
import type { Logger } from '../../lib/index.js';
import type { GitopsConfig } from '../config/gitops-config.js';
import { formatPath } from '../config/targets-loader.js';
import type { ServiceMetrics } from '../metrics.js';
import { bearerMatches, hmacMatches } from './auth.js';
import type { NotificationHandler } from './notification-handler.js';
import { ARGOCD_TRIGGERS, argoNotificationSchema, fluxEventSchema } from './payloads.js';
import { readLimitedBody } from './read-body.js';
import { listenError } from '../../lib/index.js';

/** Bodies above this are refused with 413 (the Flux event message alone is capped at 39000 chars). */
const MAX_BODY_BYTES = 1024 * 1024;

const WEBHOOK_PATHS = { argocd: '/webhooks/argocd', flux: '/webhooks/flux' } as const;
export type WebhookEndpoint = keyof typeof WEBHOOK_PATHS;

const REJECT_REASONS = {
  notFound: 'not-found',
  method: 'method-not-allowed',
  notConfigured: 'not-configured',
  unauthorized: 'unauthorized',
  tooLarge: 'too-large',
  malformed: 'malformed',
  unknownSender: 'unknown-sender',
} as const;
type RejectReason = (typeof REJECT_REASONS)[keyof typeof REJECT_REASONS];

export interface WebhookServerOptions {
  port: number;
  /** Default: all interfaces. */
  host?: string;
  logger: Logger;
  metrics: ServiceMetrics;
  /** The current targets file (it may be reloaded): which endpoints are on and their secrets. */
  getConfig: () => GitopsConfig;
  handler: Pick<NotificationHandler, 'acceptArgocd' | 'acceptFlux'>;
}

export interface WebhookServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * The HTTP side of the pull direction: routing, auth, size, parsing and status codes; decisions are the
 * handler's.
 */
export async function createWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const server = createServer((req, res) => {
    serve(options, req, res).catch((err: Error) => {
      options.logger.error('webhook request failed', { path: req.url, error: err.message });
      if (!res.headersSent) respond(res, 500, { error: 'internal error' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(listenError(err, options.port, 'the webhooks', 'WEBHOOK_PORT')),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host =
    options.host && options.host !== '0.0.0.0' && options.host !== '::' ? options.host : '127.0.0.1';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function serve(
  options: WebhookServerOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { metrics, logger } = options;
  const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '');
  const endpoint = (Object.keys(WEBHOOK_PATHS) as WebhookEndpoint[]).find((e) => WEBHOOK_PATHS[e] === path);
  const label = endpoint ?? 'unknown';
  const reject = (
    code: number,
    reason: RejectReason,
    body: Record<string, unknown>,
    headers: Record<string, string> = {},
  ) => {
    metrics.webhookRejected.inc({ endpoint: label, reason });
    metrics.webhookRequests.inc({ endpoint: label, code: String(code) });
    // What was wrong goes to the log too: the sender (Argo CD, Flux) rarely shows the answer's body.
    logger.info('webhook request rejected', {
      endpoint: label,
      code,
      reason,
      error: body.error,
      ...(body.problems ? { problems: body.problems } : {}),
    });
    respond(res, code, body, headers);
  };

  if (!endpoint) return reject(404, REJECT_REASONS.notFound, { error: `no webhook at ${path || '/'}` });
  if (req.method !== 'POST')
    return reject(405, REJECT_REASONS.method, { error: 'use POST' }, { Allow: 'POST' });
  const secrets = options.getConfig().webhooks;
  const configured = endpoint === 'argocd' ? secrets.argocdToken : (secrets.fluxHmacKey ?? secrets.fluxToken);
  if (!configured) {
    return reject(404, REJECT_REASONS.notConfigured, {
      error: `the ${endpoint} webhook is not configured (webhooks: in the targets file)`,
    });
  }
  // Argo CD's Bearer token is checked before the body is read.
  if (endpoint === 'argocd' && !bearerMatches(req.headers.authorization, secrets.argocdToken!)) {
    return reject(401, REJECT_REASONS.unauthorized, {
      error: 'missing or wrong Authorization: Bearer token',
    });
  }
  const body = await readLimitedBody(req, MAX_BODY_BYTES);
  if (body === 'too-large') {
    return reject(
      413,
      REJECT_REASONS.tooLarge,
      { error: `body larger than ${MAX_BODY_BYTES} bytes` },
      { Connection: 'close' },
    );
  }
  if (endpoint === 'flux' && !fluxAuthorized(req, body, secrets)) {
    return reject(401, REJECT_REASONS.unauthorized, {
      error: 'missing or wrong X-Signature or Authorization: Bearer token',
    });
  }
  const parsed = parseBody(body, endpoint === 'argocd' ? argoNotificationSchema : fluxEventSchema);
  if (!parsed.ok)
    return reject(400, REJECT_REASONS.malformed, {
      error: 'malformed notification',
      problems: parsed.problems,
    });
  if (endpoint === 'argocd') {
    const problems = unknownSender(
      parsed.value as z.infer<typeof argoNotificationSchema>,
      options.getConfig(),
    );
    if (problems.length)
      return reject(400, REJECT_REASONS.unknownSender, {
        error: 'notification from an unknown instance or trigger',
        problems,
      });
  }

  metrics.webhookRequests.inc({ endpoint, code: '202' });
  respond(res, 202, { accepted: true });
  if (endpoint === 'argocd')
    void options.handler.acceptArgocd(parsed.value as z.infer<typeof argoNotificationSchema>);
  else void options.handler.acceptFlux(parsed.value as z.infer<typeof fluxEventSchema>);
}

/**
 * The instance and trigger our notification template names must be ones the service knows: a
 * template copied for a second Argo CD instance without changing `instance` would otherwise be
 * read as the other instance's application.
 */
function unknownSender(notification: z.infer<typeof argoNotificationSchema>, config: GitopsConfig): string[] {
  const problems: string[] = [];
  if (!config.instances.has(notification.instance)) {
    const known = [...config.instances.keys()];
    problems.push(
      `instance: unknown Argo CD instance '${notification.instance}'; the targets file knows ${known.length ? known.map((k) => `'${k}'`).join(', ') : 'none'} (set "instance" in the notification templates)`,
    );
  }
  if (!(ARGOCD_TRIGGERS as readonly string[]).includes(notification.trigger)) {
    problems.push(
      `trigger: unknown trigger '${notification.trigger}'; the templates of docs/argocd/ send ${ARGOCD_TRIGGERS.join(', ')}`,
    );
  }
  return problems;
}

/** generic-hmac (X-Signature) when the HMAC key is set, else/also generic with the Secret's Bearer header. */
function fluxAuthorized(req: IncomingMessage, body: Buffer, secrets: GitopsConfig['webhooks']): boolean {
  const signature = req.headers['x-signature'];
  const header = Array.isArray(signature) ? signature[0] : signature;
  if (secrets.fluxHmacKey && header !== undefined && hmacMatches(header, body, secrets.fluxHmacKey))
    return true;
  return secrets.fluxToken !== undefined && bearerMatches(req.headers.authorization, secrets.fluxToken);
}

function parseBody(
  body: Buffer,
  schema: z.ZodType,
): { ok: true; value: unknown } | { ok: false; problems: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return { ok: false, problems: [`not valid JSON: ${(err as Error).message}`] };
  }
  const result = schema.safeParse(json);
  if (result.success) return { ok: true, value: result.data };
  return {
    ok: false,
    problems: result.error.issues.map((i) => `${formatPath(i.path) || '(body)'}: ${i.message}`),
  };
}

function respond(
  res: ServerResponse,
  code: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): void {
  res.writeHead(code, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}
