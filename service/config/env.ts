import { hostname } from 'node:os';
import { z } from 'zod';
import { formatPath } from './targets-loader.js';

/**
 * The environment the service reads (README.md, "Environment"): the one place `process.env` is
 * read. Keptn's names where Keptn has one, the argocd CLI's for Argo CD.
 */
export const ENV_VARS = [
  'EVENTBROKER',
  'KEPTN_API_ENDPOINT',
  'KEPTN_API_TOKEN',
  'HTTP_SSL_VERIFY',
  'SHIPYARD_CONTROLLER',
  'PUBSUB_TOPIC',
  'TASKS',
  'INTEGRATION_NAME',
  'K8S_NAMESPACE',
  'K8S_POD_NAME',
  'K8S_NODE_NAME',
  'K8S_DEPLOYMENT_NAME',
  'K8S_DEPLOYMENT_VERSION',
  'LOCATION',
  'HEALTH_ENDPOINT_PORT',
  'WEBHOOK_PORT',
  'GITOPS_CONFIG',
  'ARGOCD_SERVER',
  'ARGOCD_AUTH_TOKEN',
  'ARGOCD_INSECURE',
  'KUBECONFIG',
  'LOG_LEVEL',
  'NATS_JETSTREAM',
  'SHUTDOWN_TIMEOUT',
  'REPLICA_LEASE_SECONDS',
] as const;

const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const port = z.coerce.number().int().min(0).max(65535);
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const envSchema = z.object({
  EVENTBROKER: z.string().min(1).default('nats://keptn-nats'),
  KEPTN_API_ENDPOINT: z
    .string()
    .default('')
    .refine(
      (v) => v === '' || /^https?:\/\/[^/]/.test(v),
      'must be an http(s) URL such as https://keptn.example.com/api',
    ),
  KEPTN_API_TOKEN: z.string().default(''),
  HTTP_SSL_VERIFY: bool.default(true),
  SHIPYARD_CONTROLLER: z.string().min(1).default('http://shipyard-controller:8080'),
  PUBSUB_TOPIC: z.string().default('').transform(list),
  TASKS: z
    .string()
    .default('deliver')
    .transform(list)
    .refine((t) => t.length > 0, 'must name at least one task'),
  INTEGRATION_NAME: z.string().min(1).default('gitops-service'),
  K8S_NAMESPACE: z.string().min(1).default('keptn'),
  K8S_POD_NAME: z.string().optional(),
  K8S_NODE_NAME: z.string().optional(),
  K8S_DEPLOYMENT_NAME: z.string().optional(),
  K8S_DEPLOYMENT_VERSION: z.string().optional(),
  LOCATION: z.string().optional(),
  HEALTH_ENDPOINT_PORT: port.default(8080),
  WEBHOOK_PORT: port.default(8090),
  GITOPS_CONFIG: z.string().min(1).default('/etc/keptn-gitops/config.yaml'),
  KUBECONFIG: z.string().optional(),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
  /** `auto` (default): JetStream when the server has Keptn's `keptn` stream; `true`/`false` force it. */
  NATS_JETSTREAM: z.enum(['auto', 'true', 'false']).default('auto'),
  /** How long SIGTERM waits for running deliveries before exiting. */
  SHUTDOWN_TIMEOUT: z.coerce.number().int().min(0).default(30),
  /** How long a replica's Lease outlives its last renewal before others adopt its deliveries. */
  REPLICA_LEASE_SECONDS: z.coerce.number().int().min(1).default(30),
});

export interface ServiceEnv {
  eventBroker: string;
  /** Set: remote execution plane (HTTP polling); empty: in-cluster NATS mode. */
  keptnApiEndpoint?: string;
  keptnApiToken?: string;
  httpSslVerify: boolean;
  shipyardController: string;
  pubsubTopics: string[];
  tasks: string[];
  integrationName: string;
  namespace: string;
  podName: string;
  nodeName: string;
  deploymentName: string;
  deploymentVersion: string;
  location: string;
  healthPort: number;
  webhookPort: number;
  configFile: string;
  kubeconfig?: string;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  jetstream: 'auto' | 'true' | 'false';
  shutdownTimeoutMs: number;
  replicaLeaseSeconds: number;
  /** The raw environment, for the env vars the targets file names (tokenEnv, ...). */
  raw: Record<string, string | undefined>;
}

export class EnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid environment:\n  - ${problems.join('\n  - ')}`);
    this.name = 'EnvError';
  }
}

export function readEnv(
  raw: Record<string, string | undefined> = process.env,
  packageVersion = '0.0.0',
): ServiceEnv {
  const present = Object.fromEntries(
    ENV_VARS.filter((k) => raw[k] !== undefined && raw[k] !== '').map((k) => [k, raw[k]]),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success)
    throw new EnvError(parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`));
  const e = parsed.data;
  const host = hostname();
  const remote = e.KEPTN_API_ENDPOINT.replace(/\/+$/, '');
  return {
    eventBroker: e.EVENTBROKER,
    keptnApiEndpoint: remote || undefined,
    keptnApiToken: e.KEPTN_API_TOKEN || undefined,
    httpSslVerify: e.HTTP_SSL_VERIFY,
    shipyardController: e.SHIPYARD_CONTROLLER.replace(/\/+$/, ''),
    pubsubTopics: e.PUBSUB_TOPIC,
    tasks: e.TASKS,
    integrationName: e.INTEGRATION_NAME,
    namespace: e.K8S_NAMESPACE,
    podName: e.K8S_POD_NAME ?? host,
    nodeName: e.K8S_NODE_NAME ?? host,
    deploymentName: e.K8S_DEPLOYMENT_NAME ?? e.INTEGRATION_NAME,
    deploymentVersion: e.K8S_DEPLOYMENT_VERSION ?? packageVersion,
    location: e.LOCATION ?? (remote ? 'remote-execution-plane' : 'control-plane'),
    healthPort: e.HEALTH_ENDPOINT_PORT,
    webhookPort: e.WEBHOOK_PORT,
    configFile: e.GITOPS_CONFIG,
    kubeconfig: e.KUBECONFIG,
    logLevel: e.LOG_LEVEL,
    jetstream: e.NATS_JETSTREAM,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT * 1000,
    replicaLeaseSeconds: e.REPLICA_LEASE_SECONDS,
    raw,
  };
}
