import { JsonClient, KeptnApiError, type TokenSource } from '../http/json-client.js';
import type { Subscription } from './subscription.js';

/** `metadata` of a uniform registration (go-utils `MetaData`). */
export interface IntegrationMetadata {
  hostname: string;
  integrationversion: string;
  distributorversion: string;
  location: string;
  kubernetesmetadata: { namespace: string; podname: string; deploymentname: string };
  lastseen?: string;
}

/** go-utils `Integration`. */
export interface Integration {
  id: string;
  name: string;
  metadata: IntegrationMetadata;
  subscriptions: Subscription[];
}

/** One entry of `POST /v1/log` (go-utils `LogEntry`). */
export interface LogEntry {
  integrationid: string;
  message: string;
  time: string;
  shkeptncontext?: string;
  task?: string;
  triggeredid?: string;
  gitcommitid?: string;
}

export interface UniformClientOptions {
  /** `SHIPYARD_CONTROLLER` in NATS mode, `{KEPTN_API_ENDPOINT}/controlPlane` in remote mode. */
  baseUrl: string;
  token?: TokenSource;
  sslVerify?: boolean;
  timeoutMs?: number;
}

/** shipyard-controller's uniform API: register, ping, error logs. Errors are KeptnApiError. */
export class UniformClient {
  private readonly client: JsonClient;
  private readonly base: string;

  constructor(options: UniformClientOptions) {
    this.client = new JsonClient(options);
    this.base = options.baseUrl.replace(/\/+$/, '');
  }

  /** 201 (new) or 200 (known name and namespace): the integration id. */
  async register(
    integration: Omit<Integration, 'id'> & { id?: string },
    signal?: AbortSignal,
  ): Promise<string> {
    const res = await this.client.expectOk<{ id: string }>(
      'POST',
      `${this.base}/v1/uniform/registration`,
      { id: '', ...integration },
      signal,
    );
    return res.body.id;
  }

  /** The integration as the server has it now (its subscriptions), or undefined on 404 (dropped by TTL). */
  async ping(id: string, signal?: AbortSignal): Promise<Integration | undefined> {
    const res = await this.client.request<Integration>(
      'PUT',
      `${this.base}/v1/uniform/registration/${encodeURIComponent(id)}/ping`,
      undefined,
      signal,
    );
    if (res.status === 404) return undefined;
    if (res.status !== 200)
      throw new KeptnApiError(`PUT /v1/uniform/registration/${id}/ping answered ${res.status}`, {
        method: 'PUT',
        url: '/v1/uniform/registration/{id}/ping',
        status: res.status,
      });
    return res.body;
  }

  async log(entries: LogEntry[], signal?: AbortSignal): Promise<void> {
    await this.client.expectOk('POST', `${this.base}/v1/log`, { logs: entries }, signal);
  }

  close(): void {
    this.client.close();
  }
}
