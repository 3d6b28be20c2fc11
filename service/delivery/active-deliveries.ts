import type { ResolvedTarget } from '../config/gitops-config.js';
import { followKey, targetKey, type DeliveryTool } from '../gitops/identity.js';

/**
 * The targets this instance is delivering right now, so that a GitOps notification about one of
 * them wakes its follower instead of being read as a change.
 */
export class ActiveDeliveries {
  private readonly counts = new Map<string, number>();

  add(target: ResolvedTarget): () => void {
    const key = followKey(
      target.tool,
      targetKey(target),
      target.tool === 'argocd' ? target.argocd.instance : undefined,
    );
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
  has(tool: DeliveryTool, target: string, instance?: string): boolean {
    return this.counts.has(followKey(tool, target, instance));
  }

  get size(): number {
    return this.counts.size;
  }
}
