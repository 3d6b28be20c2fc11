import type { Secret } from './secret.js';
import type { ArgoTargetSpec, FluxTargetSpec, TargetRule } from './targets-schema.js';

/** One Argo CD API server with its credentials, secrets already read from the environment. */
export interface ArgoInstance {
  name: string;
  /** Base URL without a trailing slash, e.g. `https://argocd.example.com`. */
  server: string;
  auth: { kind: 'token'; token: Secret } | { kind: 'login'; username: Secret; password: Secret };
  caFile?: string;
  insecure: boolean;
}

export interface WebhookSecrets {
  argocdToken?: Secret;
  fluxHmacKey?: Secret;
  fluxToken?: Secret;
}

/** The loaded, validated targets file: what the rest of the service works with. */
export interface GitopsConfig {
  /** Where it was read from, for messages ("no target matches ... in /etc/keptn-gitops/config.yaml"). */
  file: string;
  instances: Map<string, ArgoInstance>;
  webhooks: WebhookSecrets;
  rules: TargetRule[];
}

export interface Scope {
  project: string;
  stage: string;
  service: string;
}

interface ResolvedCommon {
  /** Index of the rule in `targets`, for messages. */
  rule: number;
  timeoutMs: number;
  deploymentName: string;
  onChange?: { sequence: string };
}

/** A rule matched against a scope, placeholders expanded. */
export type ResolvedTarget =
  | (ResolvedCommon & { tool: 'argocd'; argocd: ArgoTargetSpec })
  | (ResolvedCommon & { tool: 'flux'; flux: FluxTargetSpec });

export type ResolvedArgoTarget = Extract<ResolvedTarget, { tool: 'argocd' }>;
export type ResolvedFluxTarget = Extract<ResolvedTarget, { tool: 'flux' }>;
