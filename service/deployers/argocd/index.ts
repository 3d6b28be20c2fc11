export { ArgoCdDeployer, type ArgoCdDeployerOptions } from './argocd-deployer.js';
export {
  ArgoCdClient,
  type ArgoCdClientOptions,
  type AppScope,
  type ArgoCallOptions,
  type SyncRequest,
} from './argocd-client.js';
export { ArgoApiError, RETRY_REASONS, type RetryReason } from './errors.js';
export { operationFinished, judgeFinished, whereItStood, type ArgoVerdict } from './completion.js';
export type { Application } from './application.js';
export { toDeployError, syncRefusal, SYNC_REFUSALS } from './refusals.js';
