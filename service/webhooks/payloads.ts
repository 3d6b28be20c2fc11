import { z } from 'zod';
import { targetId } from '../gitops/identity.js';

/**
 * The two notification bodies, validated loosely (unknown fields pass through: they are the
 * Application and the Flux event, both owned by other projects).
 */

const nonEmpty = z.string().min(1, 'must not be empty');

const infoSchema = z.array(z.looseObject({ name: z.string(), value: z.string() }));
const operationSchema = z.looseObject({ info: infoSchema.optional() });

/** The Application as `{{toJson .app}}` renders it: only the fields the handler reads are checked. */
const argoApplicationSchema = z.looseObject({
  metadata: z.looseObject({ name: nonEmpty, namespace: z.string().optional() }),
  operation: operationSchema.nullish(),
  status: z
    .looseObject({
      sync: z
        .looseObject({
          status: z.string().optional(),
          revision: z.string().optional(),
          revisions: z.array(z.string()).optional(),
        })
        .optional(),
      health: z.looseObject({ status: z.string().optional() }).optional(),
      operationState: z
        .looseObject({
          phase: z.string().optional(),
          operation: operationSchema.optional(),
          syncResult: z
            .looseObject({ revision: z.string().optional(), revisions: z.array(z.string()).optional() })
            .optional(),
        })
        .nullish(),
      history: z.array(z.looseObject({ revision: z.string().optional() })).nullish(),
    })
    .optional(),
});

/** The trigger names of docs/argocd/argocd-notifications-cm.yaml. */
export const ARGOCD_TRIGGERS = [
  'on-out-of-sync',
  'on-deployed',
  'on-sync-failed',
  'on-health-degraded',
] as const;

/** What our `keptn-gitops` notification template renders (docs/argocd/argocd-notifications-cm.yaml). */
export const argoNotificationSchema = z.looseObject({
  instance: nonEmpty,
  trigger: z.string(),
  app: argoApplicationSchema,
});

/** The notification-controller event (fluxcd/pkg `apis/event/v1beta1` Event). */
export const fluxEventSchema = z.looseObject({
  involvedObject: z.looseObject({
    kind: nonEmpty,
    name: nonEmpty,
    namespace: z.string().optional(),
    apiVersion: z.string().optional(),
  }),
  severity: z.string(),
  reason: z.string(),
  message: z.string().default(''),
  metadata: z.record(z.string(), z.string()).optional(),
  reportingController: z.string().optional(),
  timestamp: z.string().optional(),
});

export type ArgoApplication = z.infer<typeof argoApplicationSchema>;
export type ArgoNotification = z.infer<typeof argoNotificationSchema>;
export type FluxEvent = z.infer<typeof fluxEventSchema>;

/**
 * A metadata value under its plain key (`revision`, as notification-controller sends it today) or
 * under a group prefix (`kustomize.toolkit.fluxcd.io/revision`, as the docs' sample shows).
 */
export function fluxMetadata(event: FluxEvent, key: string): string | undefined {
  const metadata = event.metadata ?? {};
  if (metadata[key] !== undefined) return metadata[key];
  const prefixed = Object.keys(metadata).find((k) => k.endsWith(`/${key}`));
  return prefixed === undefined ? undefined : metadata[prefixed];
}

/** `<Kind>/<namespace>/<name>`, the way targets are named everywhere (namespace defaults to flux-system). */
export function fluxObjectName(event: FluxEvent): string {
  const o = event.involvedObject;
  return targetId(o.kind, o.namespace ?? 'flux-system', o.name);
}
