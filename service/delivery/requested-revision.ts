/**
 * `data.gitops.revision` counts only when `data.gitops.stage` equals the event's stage: Keptn merges
 * earlier data into later tasks and stages, so an unscoped key would pin the next stage to the
 * previous stage's revision.
 */
export function requestedRevision(data: Record<string, unknown>): string | undefined {
  const gitops = data.gitops;
  if (!gitops || typeof gitops !== 'object') return undefined;
  const { revision, stage } = gitops as Record<string, unknown>;
  if (typeof revision !== 'string' || revision.trim() === '') return undefined;
  return stage === data.stage ? revision.trim() : undefined;
}
