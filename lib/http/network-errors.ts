/**
 * The one rule for TLS: a certificate that cannot be verified (unknown CA, self-signed, expired, wrong
 * host name) will not verify on retry either, so every client treats it as terminal, while a reset or
 * timeout is transient. Looks at the error's code, its cause's code, else its message.
 */
export function isCertificateFailure(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown } } | undefined;
  const code = typeof e?.code === 'string' ? e.code : e?.cause?.code;
  const what = typeof code === 'string' ? code : typeof e?.message === 'string' ? e.message : '';
  return /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(what);
}
