/**
 * Knative `DeliverySpec` semantics, transport-agnostic: parse and validate the spec, resolve Broker/Trigger
 * precedence, run the retry loop, and build the dead-letter extensions. Used by the router and by sources.
 */

export {
  deadLetterExtensions,
  encodeErrorData,
  KNATIVE_ERROR_DATA_MAX_LENGTH,
  withDeadLetterExtensions,
} from './dead-letter.ts';
export { durationProblem, parseDurationMs, tryParseDurationMs } from './duration.ts';
export {
  type Attempt,
  type AttemptResult,
  abortableSleep,
  type DeliverOptions,
  type DeliveryOutcome,
  deliverWithRetries,
} from './executor.ts';
export {
  type BackoffPolicy,
  backoffMs,
  DEFAULT_BROKER_DELIVERY,
  type DeadLetterSink,
  type DeliverySpec,
  type KReference,
  type ResolvedDeliveryPolicy,
  resolveDeliveryPolicy,
  toResolvedPolicy,
} from './policy.ts';
export {
  headerValue,
  honouredRetryAfterMs,
  isRetryableStatus,
  isSuccess,
  parseHttpDate,
  parseRetryAfter,
  type ResponseHeaders,
} from './retryable.ts';
export { type DeliveryIssue, validateDeliverySpec } from './validate.ts';
