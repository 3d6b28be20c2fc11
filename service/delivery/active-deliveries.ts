import type { ResolvedTarget } from '../config/gitops-config.js';

/**
 * The targets this instance is delivering right now, so that a GitOps notification about one of
 * them wakes its follower instead of being read as a change. Argo CD notifications carry the
 * application's namespace, which a target without `appNamespace` does not know ahead of time, so
 * applications are keyed by instance and name.
 */
export class ActiveDeliveries {
  private readonly counts = new Map<string, number>();

  add(target: ResolvedTarget): () => void {
    const key = keyOf(target);
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.counts.get(key) ?? 1) - 1;
      if (left > 0) this.counts.set(key, left);
      else this.counts.delete(key);
    };
  }

  /**
   * `target` as notifications name it: `Kustomization/ns/name`, `Application/ns/name` (of Argo CD
   * `instance`).
   */
  has(tool: 'argocd' | 'flux', target: string, instance = 'default'): boolean {
    if (tool === 'flux') return this.counts.has(target);
    const name = target.split('/').pop() ?? '';
    return this.counts.has(`Application/${instance}/${name}`);
  }

  get size(): number {
    return this.counts.size;
  }
}

function keyOf(target: ResolvedTarget): string {
  return target.tool === 'flux'
    ? `${target.flux.kind}/${target.flux.namespace}/${target.flux.name}`
    : `Application/${target.argocd.instance}/${target.argocd.application}`;
}
