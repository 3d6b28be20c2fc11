import type { KeptnEventData } from '../events/types.js';

/** A uniform subscription (go-utils `EventSubscription`). */
export interface SubscriptionFilter {
  projects?: string[] | null;
  stages?: string[] | null;
  services?: string[] | null;
}

export interface Subscription {
  id?: string;
  event: string;
  filter?: SubscriptionFilter;
}

/** go-utils `eventmatcher.Matches`: each non-empty list must contain the event's value. */
export function matchesFilter(filter: SubscriptionFilter | undefined, data: KeptnEventData): boolean {
  if (!filter) return true;
  const ok = (list: string[] | null | undefined, value: unknown) =>
    !list || list.length === 0 || (typeof value === 'string' && list.includes(value));
  return (
    ok(filter.projects, data.project) && ok(filter.stages, data.stage) && ok(filter.services, data.service)
  );
}
