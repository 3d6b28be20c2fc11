import type { RequestInfo } from './faults.js';

/** One allow rule; `resource` may name a subresource (`kustomizations/status`) or be `*`. */
export interface RbacRule {
  group: string;
  resource: string;
  verbs: string[];
  /** Omitted: every namespace (a ClusterRole); set: a Role in that namespace. */
  namespace?: string;
}

/** What the authorizer decides on: a request without its raw URL. */
export type AccessRequest = Omit<RequestInfo, 'url'>;

/**
 * The simulated authorizer: allow-all until rules are set, then only what a rule allows. The same
 * rules answer SelfSubjectAccessReviews and gate every request.
 */
export class RbacRules {
  private rules: RbacRule[] | undefined;

  /** `undefined` restores allow-all. */
  set(rules: RbacRule[] | undefined): void {
    this.rules = rules ? structuredClone(rules) : undefined;
  }

  allows(req: AccessRequest): boolean {
    if (!this.rules) return true;
    const resource = req.subresource ? `${req.resource}/${req.subresource}` : req.resource;
    return this.rules.some(
      (r) =>
        (r.group === '*' || r.group === req.group) &&
        (r.resource === '*' || r.resource === resource) &&
        (r.verbs.includes('*') || r.verbs.includes(req.verb)) &&
        (r.namespace === undefined || r.namespace === req.namespace),
    );
  }

  /**
   * The API server's wording, e.g. `kustomizations.kustomize.toolkit.fluxcd.io "podinfo" is forbidden: ...`.
   */
  describeDenial(req: AccessRequest): string {
    const resource = req.group ? `${req.resource}.${req.group}` : req.resource;
    const what = req.name ? `${resource} "${req.name}"` : resource;
    const sub = req.subresource ? ` subresource "${req.subresource}"` : '';
    const where = req.namespace ? ` in the namespace "${req.namespace}"` : ' at the cluster scope';
    return `${what} is forbidden: User "system:serviceaccount:keptn:keptn-gitops-service" cannot ${req.verb} resource "${req.resource}"${sub} in API group "${req.group}"${where}`;
  }
}
