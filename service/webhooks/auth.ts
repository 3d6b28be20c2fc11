import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Secret } from '../config/secret.js';

/** Equal-length digests first, so neither the content nor the length of the secret leaks through timing. */
function sameDigest(a: Buffer | string, b: Buffer | string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

/** `Authorization: Bearer <token>` carries exactly the expected token. */
export function bearerMatches(header: string | undefined, token: Secret): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header?.trim() ?? '');
  // Compare even when the header is malformed, so timing says nothing about the format either.
  return sameDigest(m?.[1] ?? '', token.reveal()) && m !== null;
}

const HMAC_ALGORITHMS = { sha1: 'sha1', sha256: 'sha256', sha512: 'sha512' } as const;

/** Flux generic-hmac: `X-Signature: sha256=<hex HMAC(key, body)>` over the raw body bytes. */
export function hmacMatches(header: string | undefined, body: Buffer, key: Secret): boolean {
  const m = /^(sha1|sha256|sha512)=([0-9a-fA-F]+)$/.exec(header?.trim() ?? '');
  if (!m) return false;
  const algorithm = HMAC_ALGORITHMS[m[1] as keyof typeof HMAC_ALGORITHMS];
  const expected = createHmac(algorithm, key.reveal()).update(body).digest();
  return sameDigest(Buffer.from(m[2]!.toLowerCase(), 'hex'), expected);
}
