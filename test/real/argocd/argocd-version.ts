import { homedir } from 'node:os';
import { join } from 'node:path';

/** The Argo CD release the real tier runs (tools/argocd/go.mod says why this line). */
export const ARGOCD_VERSION = 'v3.2.12';

/** Where the build puts the binary and the upstream manifests it copied from the module. */
export function argocdCacheDir(): string {
  const cache = process.env.KEPTN_GITOPS_REAL_CACHE || join(homedir(), '.cache', 'keptn-gitops-real');
  return join(cache, `argocd-${ARGOCD_VERSION}`);
}
