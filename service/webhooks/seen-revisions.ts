import { createHash } from 'node:crypto';
import { gitSha } from '../deployers/revision.js';

/**
 * Which revision was last seen per target, so that a change starts its sequence once per
 * (target, revision) across repeated notifications and restarts.
 */
export interface SeenRevisionStore {
  /** Records `revision` for `key`; true when it differs from what was recorded before. */
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

/** In-memory store: for tests and for running without a cluster (forgets everything on restart). */
export class MemorySeenRevisions implements SeenRevisionStore {
  private readonly revisions = new Map<string, string>();

  async markIfNew(key: string, revision: string): Promise<boolean> {
    if (sameRevision(this.revisions.get(key), revision)) return false;
    this.revisions.set(key, revision);
    return true;
  }

  async has(key: string, revision: string): Promise<boolean> {
    return sameRevision(this.revisions.get(key), revision);
  }

  async forget(key: string, revision: string): Promise<void> {
    if (sameRevision(this.revisions.get(key), revision)) this.revisions.delete(key);
  }
}
