import type { ResolvedTarget, Scope } from '../config/gitops-config.js';
import { DELIVERY_TOOLS, type DeliveryTool } from '../gitops/identity.js';

/**
 * How far a delivery got. `claimed`: the record was created (create-if-absent: exactly one replica
 * answers the trigger) and its `.started` may not have been sent yet; whoever finishes a `claimed`
 * record sends the `.started` first. `started`: the `.started` was sent, never again. Whether the
 * tool was triggered is on the tool's side, written in the same request that triggers it (the Flux
 * marker with its token, the Argo CD operation's info). `finished`: the `.finished` was sent; the
 * record is a tombstone until garbage-collected, so a late duplicate or a replay of the trigger is
 * recognised by every replica. Records written before `claimed` existed read as `started`.
 */
export const DELIVERY_PHASES = { claimed: 'claimed', started: 'started', finished: 'finished' } as const;
export type DeliveryPhase = (typeof DELIVERY_PHASES)[keyof typeof DELIVERY_PHASES];

/**
 * The one record of a delivery: who answers the trigger and how far it got, and everything needed
 * to build its `.finished` without the original event (another replica finishes it after a
 * crash). Deployers read it as their request; the store keeps it in the cluster.
 */
export interface DeliveryRecord extends Scope {
  /** Type of the `.triggered` event, e.g. `sh.keptn.event.deliver.triggered`. */
  type: string;
  shkeptncontext: string;
  /** Id of the `.triggered` event; the `.finished` carries it as `triggeredid`. */
  triggeredid: string;
  labels: Record<string, string>;
  gitcommitid?: string;
  /** Revision requested through `data.gitops.revision` (only when scoped to this stage). */
  requestedRevision?: string;
  /** Reconcile token (Flux `requestedAt`), set by the deployer. */
  token?: string;
  /** ISO time the delivery started. */
  startedAt: string;
  /** Wall-clock deadline (epoch ms) after which the delivery is a timeout. */
  deadline: number;
  phase: DeliveryPhase;
  /** ISO time the `.finished` was sent (phase `finished`). */
  finishedAt?: string;
  /** `targetKey` of the target; absent when no rule matched the trigger (it is answered errored). */
  target?: string;
  tool?: DeliveryTool;
  /** The target the delivery started with, so a reload does not change a running delivery. */
  resolved?: ResolvedTarget;
  /** Identity of the replica answering the trigger (its ReplicaLease identity). */
  owner?: string;
  /**
   * Random id of the write that last took the record (its create, or an adoption): tells our own
   * create, retried after a lost response, from another replica's, and makes an adoption fail when
   * the record was taken since it was read.
   */
  claim?: string;
}

/**
 * Where delivery records live: the cluster (ConfigMaps) so that every replica sees them, or memory
 * without a cluster. Keyed by the trigger id. Every write is retried like any other API call.
 */
export interface DeliveryStore {
  /** The records survive this process (a cluster store), so a shutdown may hand deliveries over. */
  readonly durable: boolean;
  /**
   * Creates the record if the trigger has none: false when it has one (another replica's, or a tombstone).
   */
  create(record: DeliveryRecord, options?: { deadline?: number; signal?: AbortSignal }): Promise<boolean>;
  /**
   * Records that the `.started` was sent (a `claimed` record becomes `started`). A missing or later
   * record is left alone.
   */
  markStarted(triggeredid: string): Promise<void>;
  /** Records that the `.finished` was sent: the record becomes a tombstone. A missing record is fine. */
  finish(record: DeliveryRecord): Promise<void>;
  remove(triggeredid: string): Promise<void>;
  list(): Promise<DeliveryRecord[]>;
  /** The replica the record names now (`undefined`: none), or `null` when there is no record. */
  ownerOf(triggeredid: string): Promise<string | undefined | null>;
  /**
   * Makes `newOwner` the owner if the owner is still `expectedOwner` (`undefined`: no owner) and,
   * with `read`, no one took the record since it was read (its `claim` id is unchanged); writes a
   * new `claim` id. Optimistic concurrency: of two replicas claiming the same record, exactly one
   * gets true.
   */
  claim(
    triggeredid: string,
    newOwner: string,
    expectedOwner: string | undefined,
    read?: Pick<DeliveryRecord, 'claim'>,
  ): Promise<boolean>;
}

/** How long a tombstone is kept: well past Keptn's task timeouts, so a late duplicate is still recognised. */
export const TOMBSTONE_RETENTION_MS = 60 * 60 * 1000;

/** Whether a tombstone is old enough to be garbage-collected. */
export function isExpiredTombstone(
  record: DeliveryRecord,
  now: number,
  retentionMs = TOMBSTONE_RETENTION_MS,
): boolean {
  if (record.phase !== DELIVERY_PHASES.finished) return false;
  const finishedAt = Date.parse(record.finishedAt ?? '');
  return Number.isNaN(finishedAt) || now - finishedAt > retentionMs;
}

export function encodeDelivery(record: DeliveryRecord): string {
  return JSON.stringify(record);
}

const REQUIRED_STRINGS = [
  'type',
  'shkeptncontext',
  'triggeredid',
  'project',
  'stage',
  'service',
  'startedAt',
] as const;
const OPTIONAL_STRINGS = [
  'target',
  'owner',
  'finishedAt',
  'claim',
  'token',
  'gitcommitid',
  'requestedRevision',
] as const;

/** The record, or what is wrong with the stored text. Records written before phases existed are `started`. */
export function decodeDelivery(text: string | undefined): DeliveryRecord | string {
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
  for (const field of OPTIONAL_STRINGS)
    if (raw[field] !== undefined && typeof raw[field] !== 'string') return `${field} is not a string`;
  if (typeof raw.deadline !== 'number') return 'deadline is not a number';
  if (raw.tool !== undefined && !Object.values(DELIVERY_TOOLS).includes(raw.tool as DeliveryTool))
    return `tool is not one of ${Object.values(DELIVERY_TOOLS).join(', ')}`;
  if (raw.phase !== undefined && !Object.values(DELIVERY_PHASES).includes(raw.phase as DeliveryPhase))
    return `phase is not one of ${Object.values(DELIVERY_PHASES).join(', ')}`;
  if (typeof raw.labels !== 'object' || raw.labels === null) return 'labels is not an object';
  return {
    ...(raw as unknown as DeliveryRecord),
    phase: (raw.phase as DeliveryPhase | undefined) ?? DELIVERY_PHASES.started,
  };
}
