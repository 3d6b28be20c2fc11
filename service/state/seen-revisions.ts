import { createHash } from 'node:crypto';
import { gitSha } from '../gitops/revision.js';

/**
 * The revisions seen per target (a bounded history, newest last), so that a change starts its
 * sequence once per (target, revision) across repeated notifications, restarts, replays and
 * notifications that arrive out of order.
 */
export interface SeenRevisionStore {
  /** Records `revision` for `key`; true when it is not in the target's history yet. */
  markIfNew(key: string, revision: string): Promise<boolean>;
  has?(key: string, revision: string): Promise<boolean>;
  /** Undoes a `markIfNew` (the sequence could not be started), so a later notification retries. */
  forget(key: string, revision: string): Promise<void>;
}

/** Same revision, also across the `main@sha1:<sha>` and legacy `main/<sha>` spellings of one commit. */
export function sameRevision(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  if (a === b) return true;
  const sa = gitSha(a);
  return sa !== undefined && sa.length === 40 && sa === gitSha(b);
}

const KEY_PREFIX_MAX = 200;

/**
 * A ConfigMap data key (`[-._a-zA-Z0-9]+`, at most 253 characters) for a target: readable prefix,
 * plus a hash of the exact parts so two targets never share a key after sanitising.
 */
export function seenKey(...parts: string[]): string {
  const exact = parts.join('\u0000');
  const readable = parts
    .join('.')
    .replace(/[^-._a-zA-Z0-9]+/g, '_')
    .slice(0, KEY_PREFIX_MAX);
  const hash = createHash('sha256').update(exact).digest('hex').slice(0, 12);
  return `${readable}.${hash}`;
}

/** Revisions kept per target: enough for any realistic replay, small enough for one ConfigMap. */
export const SEEN_HISTORY = 20;

/**
 * A target's history as stored: revisions separated by newlines, newest last (a value written
 * before histories existed is a history of one).
 */
export const RevisionHistory = {
  parse: (value: string | undefined): string[] => (value ? value.split('\n').filter(Boolean) : []),
  format: (revisions: string[]): string => revisions.join('\n'),
  includes: (revisions: string[], revision: string): boolean =>
    revisions.some((r) => sameRevision(r, revision)),
  /** With `revision` appended, the oldest dropped beyond SEEN_HISTORY. */
  add: (revisions: string[], revision: string): string[] => [...revisions, revision].slice(-SEEN_HISTORY),
  remove: (revisions: string[], revision: string): string[] =>
    revisions.filter((r) => !sameRevision(r, revision)),
};

/** In-memory store: for tests and for running without a cluster (forgets everything on restart). */
export class MemorySeenRevisions implements SeenRevisionStore {
  private readonly revisions = new Map<string, string[]>();

  async markIfNew(key: string, revision: string): Promise<boolean> {
    const history = this.revisions.get(key) ?? [];
    if (RevisionHistory.includes(history, revision)) return false;
    this.revisions.set(key, RevisionHistory.add(history, revision));
    return true;
  }

  async has(key: string, revision: string): Promise<boolean> {
    return RevisionHistory.includes(this.revisions.get(key) ?? [], revision);
  }

  async forget(key: string, revision: string): Promise<void> {
    const left = RevisionHistory.remove(this.revisions.get(key) ?? [], revision);
    if (left.length > 0) this.revisions.set(key, left);
    else this.revisions.delete(key);
  }
}
