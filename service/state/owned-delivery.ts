import type { DeliveryRecord } from '../deployers/deployer.js';

export const DELIVERY_TOOLS = { argocd: 'argocd', flux: 'flux' } as const;
export type DeliveryTool = (typeof DELIVERY_TOOLS)[keyof typeof DELIVERY_TOOLS];

/** A durable delivery record as the store keeps it, with the replica that follows it. */
export type OwnedDelivery = DeliveryRecord & {
  target: string;
  tool: DeliveryTool;
  /** Identity of the replica following the delivery (its ReplicaLease identity). */
  owner?: string;
};

export function encodeDelivery(record: OwnedDelivery): string {
  return JSON.stringify(record);
}

const REQUIRED_STRINGS = ['type', 'shkeptncontext', 'triggeredid', 'project', 'stage', 'service', 'startedAt', 'target'] as const;

/** The record, or what is wrong with the stored text. */
export function decodeDelivery(text: string | undefined): OwnedDelivery | string {
  if (text === undefined) return 'no record key';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return `not JSON: ${(err as Error).message}`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const raw = value as Record<string, unknown>;
  for (const field of REQUIRED_STRINGS) if (typeof raw[field] !== 'string') return `${field} is not a string`;
  if (typeof raw.deadline !== 'number') return 'deadline is not a number';
  if (!Object.values(DELIVERY_TOOLS).includes(raw.tool as DeliveryTool)) return `tool is not one of ${Object.values(DELIVERY_TOOLS).join(', ')}`;
  if (raw.owner !== undefined && typeof raw.owner !== 'string') return 'owner is not a string';
  if (typeof raw.labels !== 'object' || raw.labels === null) return 'labels is not an object';
  return raw as unknown as OwnedDelivery;
}
