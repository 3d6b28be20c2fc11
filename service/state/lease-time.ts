import { V1MicroTime, type V1Lease } from '@kubernetes/client-node';

/**
 * client-node 1.x does not deserialize MicroTime fields: what comes back from the API is the
 * string, typed as a Date. Accepts both.
 */
export function timeOf(value: Date | string | undefined): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

/** MicroTime serializes with the six fraction digits the API server expects. */
export function microTime(epochMs: number): V1MicroTime {
  return new V1MicroTime(epochMs);
}

/** Epoch ms at which the lease's holder loses it: renewTime + leaseDurationSeconds. */
export function leaseExpiresAt(lease: V1Lease): number | undefined {
  const renewed = timeOf(lease.spec?.renewTime) ?? timeOf(lease.spec?.acquireTime);
  const duration = lease.spec?.leaseDurationSeconds;
  if (renewed === undefined || duration === undefined) return undefined;
  return renewed + duration * 1000;
}

/**
 * Whether someone holds the lease at `now`. Compares the holder's renewTime with our clock, so
 * replicas need clocks in step to well under the lease duration (NTP on the nodes).
 */
export function isLeaseHeld(lease: V1Lease, now: number): boolean {
  if (!lease.spec?.holderIdentity) return false;
  const expiresAt = leaseExpiresAt(lease);
  return expiresAt !== undefined && expiresAt > now;
}
