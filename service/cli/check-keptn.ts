import { connect } from '@nats-io/transport-node';
import { controlPlaneBase, JsonClient } from '../../lib/index.js';
import type { ServiceEnv } from '../config/env.js';
import type { CheckReporter } from './check-line.js';

export async function checkNats(env: ServiceEnv, report: CheckReporter): Promise<void> {
  try {
    const nc = await connect({ servers: env.eventBroker, timeout: 3000, name: 'keptn-gitops-check' });
    await nc.close();
    report({ status: 'ok', name: 'nats', detail: `${env.eventBroker}: connected` });
  } catch (err) {
    report({
      status: 'FAIL',
      name: 'nats',
      detail: `${env.eventBroker}: cannot connect (${(err as Error).message})`,
    });
  }
}

/** The uniform registration API answers (with the token, in remote mode). */
export async function checkControlPlane(env: ServiceEnv, report: CheckReporter): Promise<void> {
  const base = env.keptnApiEndpoint ? controlPlaneBase(env.keptnApiEndpoint) : env.shipyardController;
  const url = `${base}/v1/uniform/registration?name=${encodeURIComponent(env.integrationName)}`;
  const client = new JsonClient({ token: env.keptnApiToken, sslVerify: env.httpSslVerify, timeoutMs: 5000 });
  try {
    const res = await client.request('GET', url);
    if (res.status === 200) {
      report({ status: 'ok', name: 'control plane', detail: `${base}: uniform API reachable` });
    } else if (res.status === 401 || res.status === 403) {
      report({
        status: 'FAIL',
        name: 'control plane',
        detail: `${base}: the Keptn API token was refused (HTTP ${res.status}); check KEPTN_API_TOKEN`,
      });
    } else {
      report({
        status: 'FAIL',
        name: 'control plane',
        detail: `${base}: GET /v1/uniform/registration answered HTTP ${res.status}`,
      });
    }
  } catch (err) {
    report({
      status: 'FAIL',
      name: 'control plane',
      detail: `${base}: unreachable (${(err as Error).message})`,
    });
  }
}
