import type { Lease } from '../kube/objects.js';
import { stateLabels } from '../state/state-labels.js';

export function timeOf(value: string | undefined): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

/** MicroTime as the API server expects it: RFC 3339 with six fraction digits. */
export function microTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/Z$/, '000Z');
}

/** Epoch ms at which the lease's holder loses it: renewTime + leaseDurationSeconds. */
export function leaseExpiresAt(lease: Lease): number | undefined {
  const renewed = timeOf(lease.spec?.renewTime) ?? timeOf(lease.spec?.acquireTime);
  const duration = lease.spec?.leaseDurationSeconds;
  if (renewed === undefined || duration === undefined) return undefined;
  return renewed + duration * 1000;
}

/**
 * Whether someone holds the lease at `now`. Compares the holder's renewTime with our clock, so
 * replicas need clocks in step to well under the lease duration (NTP on the nodes).
 */
export function isLeaseHeld(lease: Lease, now: number): boolean {
  if (!lease.spec?.holderIdentity) return false;
  const expiresAt = leaseExpiresAt(lease);
  return expiresAt !== undefined && expiresAt > now;
}

export interface LeaseFields {
  name: string;
  namespace: string;
  integrationName: string;
  /** Written as holderIdentity. */
  holder: string;
  durationSeconds: number;
  /** Epoch ms of this write: the renewTime, and the acquireTime when the holder changes. */
  now: number;
}

/**
 * The Lease held by `holder` as of `now`, written over `current` (its metadata, resourceVersion
 * included, so a concurrent write gets 409); keeps the acquireTime while the holder stays the same.
 */
export function leaseFor(current: Lease | undefined, fields: LeaseFields): Lease {
  const now = microTime(fields.now);
  const sameHolder = current?.spec?.holderIdentity === fields.holder;
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      ...current?.metadata,
      name: fields.name,
      namespace: fields.namespace,
      labels: { ...current?.metadata?.labels, ...stateLabels(fields.integrationName) },
    },
    spec: {
      holderIdentity: fields.holder,
      leaseDurationSeconds: fields.durationSeconds,
      acquireTime: sameHolder && current?.spec?.acquireTime ? current.spec.acquireTime : now,
      renewTime: now,
    },
  };
}

/** Renew a Lease three times per duration; standbys try to acquire four times per duration. */
export function leaseTiming(leaseDurationSeconds: number) {
  const ms = leaseDurationSeconds * 1000;
  return {
    leaseDurationSeconds,
    renewMs: Math.max(300, ms / 3),
    retryMs: Math.max(250, Math.min(2000, ms / 4)),
  };
}
