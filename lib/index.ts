// The Keptn SDK's public surface: service/ imports lib only through this file.
export { createLogger, silentLogger } from './log.js';
export type { Logger, LoggerOptions } from './log.js';

// Events: model, codec, builders, type helpers.
export {
  KeptnStatus,
  KeptnResult,
  TaskEventKind,
  SHKEPTN_SPEC_VERSION,
  CLOUDEVENTS_SPEC_VERSION,
  JSON_CONTENT_TYPE,
} from './events/types.js';
export type { KeptnEvent, KeptnEventData } from './events/types.js';
export { parseKeptnEvent, ParseFailureReason } from './events/parse.js';
export type { ParseResult } from './events/parse.js';
export { encodeKeptnEvent } from './events/codec.js';
export {
  createStartedEvent,
  createFinishedEvent,
  createErrorLogEvent,
  createSequenceTriggeredEvent,
  createTaskTriggeredEvent,
  commonData,
} from './events/builders.js';
export type {
  ParentEvent,
  BuildOptions,
  SequenceTriggerOptions,
  TaskTriggerOptions,
} from './events/builders.js';
export {
  isTaskEventType,
  isSequenceEventType,
  parseTaskEventType,
  parseSequenceEventType,
  taskEventType,
  sequenceEventType,
  replaceEventKind,
} from './events/event-type.js';

// Transports.
export { NatsTransport } from './transport/nats-transport.js';
export type { NatsTransportOptions } from './transport/nats-transport.js';
export { JetStreamSource, JetStreamMode, KEPTN_STREAM } from './transport/jetstream-source.js';
export type { JetStreamSourceOptions } from './transport/jetstream-source.js';
export { HttpTransport, controlPlaneBase, apiServiceBase } from './transport/http-transport.js';
export type { HttpTransportOptions } from './transport/http-transport.js';
export { subjectsOf } from './transport/transport.js';
export type { EventSource, EventSink, IncomingMessage } from './transport/transport.js';
export { KeptnApiError, JsonClient } from './http/json-client.js';
export type { TokenSource, JsonClientOptions, JsonResponse } from './http/json-client.js';
export { retryWithBackoff, backoffDelay, abortableSleep } from './http/backoff.js';
export type { BackoffOptions, CallLimits, RetryOptions } from './http/backoff.js';
export { reopenStream } from './http/reopen-stream.js';
export type { ReopenOptions } from './http/reopen-stream.js';
export { isCertificateFailure } from './http/network-errors.js';
export { RemoteCallError, isTransientFailure } from './http/remote-call-error.js';
export type { RemoteCallErrorOptions } from './http/remote-call-error.js';

// Uniform registration.
export { UniformClient } from './uniform/uniform-client.js';
export type {
  Integration,
  IntegrationMetadata,
  LogEntry,
  UniformClientOptions,
} from './uniform/uniform-client.js';
export {
  UniformRegistration,
  registrationBody,
  DISTRIBUTOR_VERSION,
} from './uniform/uniform-registration.js';
export type { UniformRegistrationOptions, RegistrationMetadata } from './uniform/uniform-registration.js';
export { matchesFilter } from './uniform/subscription.js';
export type { Subscription, SubscriptionFilter } from './uniform/subscription.js';

// The event loop.
export { EventLoop, LoopRejectReason, SHUTDOWN_MESSAGE } from './loop/event-loop.js';
export type { EventLoopOptions } from './loop/event-loop.js';
export { DEFER_FINISHED, ANY_TASK } from './loop/task-handler.js';
export type { TaskHandler, TaskContext, TaskResult, TaskClaim, DeferFinished } from './loop/task-handler.js';

// Health and metrics.
export { HealthServer, listenError } from './health/health-server.js';
export type { HealthServerOptions } from './health/health-server.js';
export { createSdkMetrics } from './health/sdk-metrics.js';
export type { SdkMetrics } from './health/sdk-metrics.js';

// Everything wired together.
export { KeptnIntegration } from './integration.js';
export type { KeptnIntegrationOptions, NatsMode, HttpMode, CustomMode } from './integration.js';
