import { Counter, Histogram, type Registry } from 'prom-client';

/** The service's own Prometheus metrics (the SDK registers the Keptn event metrics beside them). */
export interface ServiceMetrics {
  deliveries: Counter<'tool' | 'status' | 'result'>;
  deliveryDuration: Histogram<'tool'>;
  /** Deliveries answered errored, by tool and why (`DeployError.kind`, or `unexpected`). */
  deliveryErrors: Counter<'tool' | 'reason'>;
  /**
   * Every retried call to the Kubernetes or Argo CD API, by tool and reason (5xx, timeout, reset, conflict,
   * gone).
   */
  apiRetries: Counter<'tool' | 'reason'>;
  /** Every API request a deployer sends, for "requests per delivery". */
  apiRequests: Counter<'tool'>;
  webhookRequests: Counter<'endpoint' | 'code'>;
  webhookRejected: Counter<'endpoint' | 'reason'>;
  drift: Counter<'tool'>;
  /** Notifications handled, by outcome (change, duplicate, drift, completion, ignored). */
  notifications: Counter<'tool' | 'outcome'>;
  /** Notifications accepted with 202 and dropped after every attempt to handle them failed. */
  notificationsFailed: Counter<'tool'>;
  sequencesTriggered: Counter<'tool'>;
  configReloads: Counter<'outcome'>;
}

export function createServiceMetrics(registry: Registry): ServiceMetrics {
  const registers = [registry];
  return {
    deliveries: new Counter({
      name: 'gitops_deliveries_total',
      help: 'Deliveries finished, by tool, status and result',
      labelNames: ['tool', 'status', 'result'],
      registers,
    }),
    deliveryErrors: new Counter({
      name: 'gitops_delivery_errors_total',
      help: 'Deliveries answered errored, by tool and reason (not-found, suspended, auth, forbidden, refused, unreachable, timeout, invalid, unexpected)',
      labelNames: ['tool', 'reason'],
      registers,
    }),
    deliveryDuration: new Histogram({
      name: 'gitops_delivery_duration_seconds',
      help: 'Time from trigger to finished',
      labelNames: ['tool'],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800],
      registers,
    }),
    apiRetries: new Counter({
      name: 'gitops_api_retries_total',
      help: 'Retried Kubernetes / Argo CD API calls',
      labelNames: ['tool', 'reason'],
      registers,
    }),
    apiRequests: new Counter({
      name: 'gitops_api_requests_total',
      help: 'Kubernetes / Argo CD API requests sent by deployers',
      labelNames: ['tool'],
      registers,
    }),
    webhookRequests: new Counter({
      name: 'gitops_webhook_requests_total',
      help: 'Webhook requests by endpoint and HTTP status',
      labelNames: ['endpoint', 'code'],
      registers,
    }),
    webhookRejected: new Counter({
      name: 'gitops_webhook_rejected_total',
      help: 'Rejected webhook requests by reason',
      labelNames: ['endpoint', 'reason'],
      registers,
    }),
    drift: new Counter({
      name: 'gitops_drift_total',
      help: 'Drift notifications (no sequence started)',
      labelNames: ['tool'],
      registers,
    }),
    notifications: new Counter({
      name: 'gitops_notifications_total',
      help: 'GitOps notifications handled, by what they meant: change, duplicate, drift, completion, ignored',
      labelNames: ['tool', 'outcome'],
      registers,
    }),
    notificationsFailed: new Counter({
      name: 'gitops_notifications_failed_total',
      help: 'Accepted GitOps notifications that could not be handled after every attempt',
      labelNames: ['tool'],
      registers,
    }),
    sequencesTriggered: new Counter({
      name: 'gitops_sequences_triggered_total',
      help: 'Keptn sequences started from GitOps notifications',
      labelNames: ['tool'],
      registers,
    }),
    configReloads: new Counter({
      name: 'gitops_config_reloads_total',
      help: 'Targets-file reloads by outcome (applied, rejected)',
      labelNames: ['outcome'],
      registers,
    }),
  };
}
