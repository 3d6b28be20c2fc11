import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The SDK's Prometheus metrics, registered on the registry the service also uses. */
export interface SdkMetrics {
  received: Counter<'type'>;
  rejected: Counter<'reason'>;
  handled: Counter<'task' | 'status' | 'result'>;
  handlerDuration: Histogram<'task'>;
  handlersActive: Gauge;
  unpublishable: Counter<'type'>;
}

export function createSdkMetrics(registry: Registry): SdkMetrics {
  const registers = [registry];
  return {
    received: new Counter({
      name: 'keptn_events_received_total',
      help: 'Keptn events received, by type',
      labelNames: ['type'],
      registers,
    }),
    rejected: new Counter({
      name: 'keptn_events_rejected_total',
      help: 'Keptn messages dropped, by reason',
      labelNames: ['reason'],
      registers,
    }),
    handled: new Counter({
      name: 'keptn_events_handled_total',
      help: 'Task triggers answered with .finished',
      labelNames: ['task', 'status', 'result'],
      registers,
    }),
    handlerDuration: new Histogram({
      name: 'keptn_handler_duration_seconds',
      help: 'Handler run time',
      labelNames: ['task'],
      buckets: [0.01, 0.1, 1, 5, 15, 30, 60, 120, 300, 600, 1800],
      registers,
    }),
    handlersActive: new Gauge({ name: 'keptn_handlers_active', help: 'Handlers running now', registers }),
    unpublishable: new Counter({
      name: 'keptn_events_unpublishable_total',
      help: 'Answers the event broker can never accept as they are (over its max_payload), sent reduced instead, by type',
      labelNames: ['type'],
      registers,
    }),
  };
}
