import type { Clock } from '../../kube/kube-client.js';

let sequence = 0;

/**
 * A fresh `requestedAt` value in RFC3339Nano like `flux reconcile` writes (`2024-05-01T10:00:00.123456789Z`);
 * the sub-millisecond digits come from a counter, so tokens made in the same millisecond differ.
 */
export function newReconcileToken(clock: Clock): string {
  sequence = (sequence + 1) % 1_000_000;
  return new Date(clock.now()).toISOString().replace('Z', `${String(sequence).padStart(6, '0')}Z`);
}

/** Orders two tokens by time when both are timestamps; `undefined` when either is not one. */
export function compareTokens(a: string, b: string): number | undefined {
  const x = parseToken(a);
  const y = parseToken(b);
  if (x === undefined || y === undefined) return undefined;
  return x < y ? -1 : x > y ? 1 : 0;
}

function parseToken(token: string): bigint | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(token.trim());
  if (m) {
    const seconds = Date.parse(`${m[1]}${m[3]}`);
    if (Number.isNaN(seconds)) return undefined;
    return BigInt(seconds) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
  }
  if (/^\d{9,11}$/.test(token)) return BigInt(token) * 1_000_000_000n;
  return undefined;
}
