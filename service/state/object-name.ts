import { createHash } from 'node:crypto';

const DNS_LABEL_RUN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Lease and ConfigMap names: a DNS subdomain; we keep to one label's alphabet and 253 characters. */
const MAX_NAME = 253;

/**
 * `<prefix>-<suffix>` as an object name. A suffix that is not already lowercase alphanumerics and
 * dashes (a host name with capitals, a trigger id someone made up) is replaced by its hash, so
 * distinct suffixes still get distinct names and the name is always valid.
 */
export function objectName(prefix: string, suffix: string): string {
  const direct = `${prefix}-${suffix}`;
  if (DNS_LABEL_RUN.test(suffix) && direct.length <= MAX_NAME) return direct;
  const hash = createHash('sha256').update(suffix).digest('hex').slice(0, 40);
  return `${prefix}-h${hash}`;
}
