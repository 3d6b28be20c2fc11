import type { DeliveryRecord } from '../../state/delivery-record.js';
import type { KubeClient } from '../../kube/kube-client.js';
import {
  ANNOTATIONS,
  FLUX_RESOURCES,
  targetId,
  type FluxObject,
  type FluxResourceKind,
} from './flux-resources.js';

/** A Flux object carrying our delivery marker, for adopting deliveries after a restart. */
export interface MarkedDelivery {
  kind: FluxResourceKind;
  namespace: string;
  name: string;
  /** `Kind/ns/name`. */
  target: string;
  record: DeliveryRecord;
}

export function serializeMarker(record: DeliveryRecord): string {
  return JSON.stringify(record);
}

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

export interface FindMarkedOptions {
  namespaces: string[];
  kinds?: FluxResourceKind[];
  deadline?: number;
  signal?: AbortSignal;
}

/** Lists the objects of the given kinds and namespaces that carry a (parseable) delivery marker. */
export async function findMarkedDeliveries(
  client: KubeClient,
  options: FindMarkedOptions,
): Promise<MarkedDelivery[]> {
  const found: MarkedDelivery[] = [];
  for (const kind of options.kinds ?? (['Kustomization', 'HelmRelease'] as const)) {
    for (const namespace of options.namespaces) {
      const list = await client.list<FluxObject>(FLUX_RESOURCES[kind], namespace, {
        deadline: options.deadline,
        signal: options.signal,
      });
      for (const obj of list.items) {
        const record = parseMarker(obj.metadata.annotations?.[ANNOTATIONS.delivery]);
        if (!record) continue;
        const ns = obj.metadata.namespace ?? namespace;
        found.push({
          kind,
          namespace: ns,
          name: obj.metadata.name,
          target: targetId(kind, ns, obj.metadata.name),
          record,
        });
      }
    }
  }
  return found;
}
