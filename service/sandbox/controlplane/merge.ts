/**
 * shipyard-controller's `Merge` (KK `internal/common/utils.go`): maps merge recursively, the later
 * scalar wins, arrays are concatenated (newer entries first, then the older ones).
 */
export function keptnMerge(older: unknown, newer: unknown): unknown {
  if (Array.isArray(older) && Array.isArray(newer)) return [...newer, ...older];
  if (isObject(older) && isObject(newer)) {
    const out: Record<string, unknown> = { ...older };
    for (const [k, v] of Object.entries(newer)) out[k] = k in out ? keptnMerge(out[k], v) : v;
    return out;
  }
  return newer === undefined ? older : newer;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
