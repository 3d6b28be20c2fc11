import type { DeliveryRecord } from '../../state/delivery-record.js';

/**
 * The delivery record the Flux object's marker annotation carries (written with `encodeDelivery`), or
 * undefined when the annotation is absent or not ours.
 */
export function parseMarker(value: string | undefined): DeliveryRecord | undefined {
  if (!value) return undefined;
  try {
    const parsed = JSON.parse(value) as DeliveryRecord;
    return typeof parsed === 'object' && parsed !== null && typeof parsed.triggeredid === 'string'
      ? parsed
      : undefined;
  } catch {
    return undefined;
  }
}
