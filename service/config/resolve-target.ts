import { parseDuration } from './duration.js';
import type { GitopsConfig, ResolvedTarget, Scope } from './gitops-config.js';
import type { TargetRule } from './targets-schema.js';

/** First rule whose `match` accepts the scope, placeholders expanded; undefined when none does. */
export function resolveTarget(config: GitopsConfig, scope: Scope): ResolvedTarget | undefined {
  const index = config.rules.findIndex((rule) => matches(rule, scope));
  return index < 0 ? undefined : expandRule(config.rules[index]!, index, scope);
}

function matches(rule: TargetRule, scope: Scope): boolean {
  return (['project', 'stage', 'service'] as const).every((key) => {
    const wanted = rule.match[key];
    if (wanted === undefined) return true;
    return Array.isArray(wanted) ? wanted.includes(scope[key]) : wanted === scope[key];
  });
}

function expandRule(rule: TargetRule, index: number, scope: Scope): ResolvedTarget {
  const fill = (s: string) =>
    s.replace(/\$\{(project|stage|service)\}/g, (_, key: keyof Scope) => scope[key]);
  const common = {
    rule: index,
    timeoutMs: parseDuration(rule.timeout)!,
    deploymentName: rule.deploymentName,
    ...(rule.onChange ? { onChange: rule.onChange } : {}),
  };
  if (rule.argocd) {
    return {
      ...common,
      tool: 'argocd',
      argocd: { ...rule.argocd, application: fill(rule.argocd.application) },
    };
  }
  const flux = rule.flux!;
  return {
    ...common,
    tool: 'flux',
    flux: { ...flux, name: fill(flux.name), namespace: fill(flux.namespace) },
  };
}

/** Rules with `onChange` (pull direction): their match holds single values, so the scope is fixed. */
export function changeTargets(config: GitopsConfig): { scope: Scope; target: ResolvedTarget }[] {
  return config.rules.flatMap((rule, index) => {
    if (!rule.onChange) return [];
    const scope = {
      project: rule.match.project,
      stage: rule.match.stage,
      service: rule.match.service,
    } as Scope;
    return [{ scope, target: expandRule(rule, index, scope) }];
  });
}

/** "project=p stage=s service=v", the way messages name a scope. */
export function describeScope(scope: Scope): string {
  return `project=${scope.project} stage=${scope.stage} service=${scope.service}`;
}
