import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { templatesDir } from './chart-files.js';

export interface ChartRbacRule {
  apiGroup: string;
  resource: string;
  verbs: string[];
}

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
}

/** The template that holds every RBAC rule of the chart, as plain YAML between template lines. */
export const rbacRulesTemplate = join(templatesDir, '_rbac-rules.tpl');

/**
 * The RBAC rules the chart grants, one entry per (API group, resource), read from
 * chart/templates/_rbac-rules.tpl with its template lines (`{{ ... }}`) stripped.
 */
export function chartRbacRules(file = rbacRulesTemplate): ChartRbacRule[] {
  // Template actions and comments (possibly over several lines) go; the rules stay.
  const yaml = readFileSync(file, 'utf8').replace(/\{\{[\s\S]*?\}\}/g, '');
  const rules = (parse(yaml) ?? []) as PolicyRule[];
  if (!Array.isArray(rules))
    throw new Error(`${file}: expected a list of rules once template lines are stripped`);
  return rules.flatMap((r) =>
    (r.apiGroups ?? []).flatMap((apiGroup) =>
      (r.resources ?? []).map((resource) => ({ apiGroup, resource, verbs: [...(r.verbs ?? [])] })),
    ),
  );
}
