import type { GitopsConfig } from './gitops-config.js';

/** One uniform subscription as Keptn's registration API takes it (`EventSubscription` without id). */
export interface UniformSubscription {
  event: string;
  filter: { projects: string[]; stages: string[]; services: string[] };
}

const unfiltered = (event: string): UniformSubscription => ({
  event,
  filter: { projects: [], stages: [], services: [] },
});

const asList = (value: string | string[] | undefined): string[] | undefined =>
  value === undefined ? undefined : Array.isArray(value) ? value : [value];

/** Logged by `serve` and printed by `check` when the targets file has no rules. */
export const NO_RULES_WARNING =
  'the targets file has no target rules: the service subscribes to no task and answers none; add rules under targets: (see docs/targets-file.md)';

/**
 * The subscriptions of the first uniform registration (README, "Uniform registration, per
 * project"): per task, one subscription per project when every rule names one, else a single
 * unfiltered one; none at all without rules (a task it cannot serve is left to others); plus an
 * unfiltered subscription for each `PUBSUB_TOPIC` subject.
 */
export function deriveSubscriptions(
  config: GitopsConfig,
  tasks: string[],
  pubsubTopics: string[],
): UniformSubscription[] {
  const perProject = projectFilters(config);
  const subscriptions =
    config.rules.length === 0
      ? []
      : tasks.flatMap((task) => {
          const event = `sh.keptn.event.${task}.triggered`;
          if (!perProject) return [unfiltered(event)];
          return [...perProject].map(([project, f]) => ({
            event,
            filter: {
              projects: [project],
              stages: f.stages ? [...f.stages] : [],
              // Keptn refuses services without stages.
              services: f.stages && f.services ? [...f.services] : [],
            },
          }));
        });
  const seen = new Set(subscriptions.filter((s) => isUnfiltered(s)).map((s) => s.event));
  for (const topic of pubsubTopics) {
    if (seen.has(topic)) continue;
    seen.add(topic);
    subscriptions.push(unfiltered(topic));
  }
  return subscriptions;
}

interface ProjectFilter {
  /** undefined: some rule of the project matches any stage, so the filter is left out. */
  stages?: Set<string>;
  services?: Set<string>;
}

/** Per project, the union of stages and services; undefined when some rule names no project. */
function projectFilters(config: GitopsConfig): Map<string, ProjectFilter> | undefined {
  if (config.rules.some((rule) => rule.match.project === undefined)) return undefined;
  const filters = new Map<string, ProjectFilter>();
  for (const rule of config.rules) {
    const stages = asList(rule.match.stage);
    const services = asList(rule.match.service);
    for (const project of asList(rule.match.project)!) {
      const existing = filters.get(project);
      if (!existing) {
        filters.set(project, { stages: stages && new Set(stages), services: services && new Set(services) });
        continue;
      }
      existing.stages = existing.stages && stages ? new Set([...existing.stages, ...stages]) : undefined;
      existing.services =
        existing.services && services ? new Set([...existing.services, ...services]) : undefined;
    }
  }
  return filters;
}

function isUnfiltered(s: UniformSubscription): boolean {
  return s.filter.projects.length === 0 && s.filter.stages.length === 0 && s.filter.services.length === 0;
}
