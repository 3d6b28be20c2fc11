import type { KeptnEvent } from './types.js';

/** The structured JSON form Keptn's Go consumers read; the same bytes go on NATS and to the API. */
export function encodeKeptnEvent(event: KeptnEvent): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(event));
}
