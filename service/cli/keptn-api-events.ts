import { apiServiceBase, JsonClient, type KeptnEvent } from '../../lib/index.js';
import type { ServiceEnv } from '../config/env.js';
import { UnavailableError } from './exit-codes.js';

/** Remote mode: sends a sequence trigger through `POST {api}/v1/event`; returns the new keptnContext. */
export async function sendThroughApi(env: ServiceEnv, event: KeptnEvent): Promise<string> {
  const client = apiClient(env);
  const url = `${apiServiceBase(env.keptnApiEndpoint!)}/v1/event`;
  const res = await client
    .request<{ keptnContext?: string; message?: string }>('POST', url, event)
    .catch((err: unknown) => {
      throw new UnavailableError(
        `cannot reach the Keptn API at ${url}: ${(err as Error).message}; is KEPTN_API_ENDPOINT right?`,
        { cause: err },
      );
    });
  if (res.status !== 200 || !res.body?.keptnContext) {
    throw new UnavailableError(
      `Keptn API refused the event at ${url}: HTTP ${res.status} ${res.body?.message ?? ''}`.trim(),
    );
  }
  return res.body.keptnContext;
}

/**
 * Remote mode: the events of one context, read by polling mongodb-datastore through the API
 * gateway (`GET {api}/mongodb-datastore/event?keptnContext=`), each yielded once.
 */
export async function* watchThroughApi(
  env: ServiceEnv,
  context: string,
  project: string,
  intervalMs = 1000,
): AsyncGenerator<KeptnEvent> {
  const client = apiClient(env);
  const seen = new Set<string>();
  for (;;) {
    const url = `${apiServiceBase(env.keptnApiEndpoint!)}/mongodb-datastore/event?keptnContext=${encodeURIComponent(context)}&project=${encodeURIComponent(project)}&pageSize=100`;
    const res = await client.request<{ events?: KeptnEvent[] }>('GET', url).catch(() => undefined);
    const events = res?.status === 200 ? (res.body.events ?? []) : [];
    for (const event of [...events].sort((a, b) => String(a.time).localeCompare(String(b.time)))) {
      if (seen.has(event.id)) continue;
      seen.add(event.id);
      yield event;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function apiClient(env: ServiceEnv): JsonClient {
  return new JsonClient({ token: env.keptnApiToken, sslVerify: env.httpSslVerify, timeoutMs: 5000 });
}
