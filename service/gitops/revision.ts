/**
 * Revision matching as the README defines it: a Git revision matches by its SHA (full, or a prefix of
 * 7 or more hex characters, with or without a `branch@sha1:` prefix); anything else (a chart
 * version, an OCI tag) matches exactly.
 */
export function revisionMatches(requested: string, applied: string | undefined): boolean {
  if (applied === undefined || applied === '') return false;
  if (requested === applied) return true;
  const want = gitSha(requested);
  const have = gitSha(applied);
  if (!want || !have) return false;
  return want.length >= 7 && have.startsWith(want);
}

/** The hex SHA inside `main@sha1:abc…`, `sha1:abc…`, `main/abc…` (legacy) or a bare SHA, lower-cased. */
export function gitSha(revision: string): string | undefined {
  const m = /(?:^|@sha1:|^sha1:|\/)([0-9a-f]{7,40})$/i.exec(revision.trim());
  return m ? m[1]!.toLowerCase() : undefined;
}
