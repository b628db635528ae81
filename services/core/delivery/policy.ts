import { parseDurationMs } from './duration.ts';

export { type DeliveryIssue, validateDeliverySpec } from './validate.ts';

/** How the wait between retries grows. */
export type BackoffPolicy = 'linear' | 'exponential';

/** A reference to a resource that has an address (Knative `KReference`). */
export interface KReference {
  /** Resource kind, e.g. `Function`, `InferenceService`, `Service`, `Broker`. */
  kind: string;
  /** Resource name. */
  name: string;
  /**
   * Namespace of the resource.
   * @defaultValue the namespace of the resource that holds this reference
   */
  namespace?: string;
  /**
   * API group/version of the kind, e.g. `serving.elastic-serving.dev/v1`.
   * @defaultValue resolved from `kind` by the platform
   */
  apiVersion?: string;
}

/** Where events that could not be delivered go (Knative `Destination`): a `ref`, a `uri`, or both. */
export interface DeadLetterSink {
  /**
   * Absolute http(s) URL of the sink; when `ref` is also given it must be relative and is resolved against
   * the ref's address (Knative semantics).
   * @defaultValue none
   */
  uri?: string;
  /**
   * Addressable resource receiving the dead letters.
   * @defaultValue none
   */
  ref?: KReference;
}

/**
 * Knative Eventing's `DeliverySpec` (`spec.delivery` on a Broker or Trigger), field for field.
 *
 * Resolution: a Trigger's spec replaces its Broker's wholesale (never merged field by field); a Broker without
 * a spec gets {@link DEFAULT_BROKER_DELIVERY}. Within the spec that applies, an absent field has the value
 * Knative's dispatcher gives it, as documented on each field.
 */
export interface DeliverySpec {
  /**
   * Retries after the first attempt (so at most `retry + 1` attempts) before the event is dead-lettered.
   * @defaultValue 0
   */
  retry?: number;
  /**
   * `linear` waits `backoffDelay × n`, `exponential` waits `backoffDelay × 2^n` before a retry, where `n`
   * counts from 0 at the first retry, exactly as Knative's dispatcher counts it (see {@link backoffMs}).
   * @defaultValue `exponential` (when only `backoffDelay` is given; Knative's Kafka data plane does the same)
   */
  backoffPolicy?: BackoffPolicy;
  /**
   * ISO-8601 base delay of the backoff, e.g. `PT0.2S`.
   * @defaultValue no delay (retries follow each other at once)
   */
  backoffDelay?: string;
  /**
   * ISO-8601 timeout of each single attempt (connect, send, and reading the whole response); must be > 0.
   * A timed-out attempt counts as a network error and is retried.
   * @defaultValue no timeout
   */
  timeout?: string;
  /**
   * ISO-8601 upper bound on a subscriber's `Retry-After` (429 and 503 only). Setting it opts in to honouring
   * `Retry-After` (Knative's `delivery-retryafter` feature semantics); `PT0S` opts out explicitly.
   * @defaultValue unset: `Retry-After` is ignored
   */
  retryAfterMax?: string;
  /**
   * Destination for events that failed every attempt (or a non-retryable status).
   * @defaultValue none: such events are dropped (logged and counted)
   */
  deadLetterSink?: DeadLetterSink;
  /**
   * Event format used to deliver (`json` = structured, `binary` = binary mode); accepted so Knative YAML
   * applies unchanged.
   * @defaultValue binary
   */
  format?: 'json' | 'binary';
}

/** A {@link DeliverySpec} after resolution, with every duration in milliseconds. */
export interface ResolvedDeliveryPolicy {
  /** Retries after the first attempt. */
  retry: number;
  /** Backoff growth. */
  backoffPolicy: BackoffPolicy;
  /** Base backoff delay in ms (0 = none). */
  backoffDelayMs: number;
  /** Per-attempt timeout in ms; `undefined` = none. */
  timeoutMs: number | undefined;
  /** Cap on honoured `Retry-After` in ms; `undefined` = `Retry-After` ignored. */
  retryAfterMaxMs: number | undefined;
  /** Dead-letter sink as written (the router resolves `ref` to an address). */
  deadLetterSink: DeadLetterSink | undefined;
  /** Delivery format, when the spec names one. */
  format: 'json' | 'binary' | undefined;
  /** Which spec this policy came from (for logs and `describe`). */
  from: 'trigger' | 'broker' | 'default';
}

/**
 * The platform default for a Broker with no `spec.delivery`: Knative's shipped `config-br-defaults`
 * (`retry: 10`, `exponential`, `PT0.2S`), i.e. waits of 0.2 s, 0.4 s, … 102.4 s (about 3.4 minutes in total).
 */
export const DEFAULT_BROKER_DELIVERY: Readonly<DeliverySpec> = Object.freeze({
  retry: 10,
  backoffPolicy: 'exponential',
  backoffDelay: 'PT0.2S',
});

/**
 * The policy a Trigger's deliveries follow: the Trigger's spec if it has one (even `{}`, which means "no
 * retries"), else the Broker's, else `platformDefault`. Specs are replaced wholesale, as in Knative.
 * Throws `InvalidResourceError` on a malformed duration (apply-time validation should have caught it).
 *
 * @param brokerSpec - the Broker's `spec.delivery`
 * @param triggerSpec - the Trigger's `spec.delivery`
 * @param platformDefault - used when neither is set
 * @defaultValue platformDefault = {@link DEFAULT_BROKER_DELIVERY}
 */
export function resolveDeliveryPolicy(
  brokerSpec?: DeliverySpec | null,
  triggerSpec?: DeliverySpec | null,
  platformDefault: DeliverySpec = DEFAULT_BROKER_DELIVERY,
): ResolvedDeliveryPolicy {
  if (triggerSpec != null) return toResolvedPolicy(triggerSpec, 'trigger', 'trigger spec.delivery');
  if (brokerSpec != null) return toResolvedPolicy(brokerSpec, 'broker', 'broker spec.delivery');
  return toResolvedPolicy(platformDefault, 'default', 'default delivery');
}

/**
 * Converts one spec (e.g. a source's `spec.delivery`) to a resolved policy, without any inheritance.
 * Absent fields take Knative's dispatcher values: no retries, no delay, no timeout, `Retry-After` ignored.
 */
export function toResolvedPolicy(
  spec: DeliverySpec,
  from: ResolvedDeliveryPolicy['from'] = 'trigger',
  pathPrefix = 'spec.delivery',
): ResolvedDeliveryPolicy {
  const ms = (value: string | undefined, field: string) =>
    value === undefined ? undefined : parseDurationMs(value, `${pathPrefix}.${field}`);
  return {
    retry: spec.retry ?? 0,
    backoffPolicy: spec.backoffPolicy ?? 'exponential',
    backoffDelayMs: ms(spec.backoffDelay, 'backoffDelay') ?? 0,
    timeoutMs: ms(spec.timeout, 'timeout'),
    retryAfterMaxMs: ms(spec.retryAfterMax, 'retryAfterMax'),
    deadLetterSink: spec.deadLetterSink,
    format: spec.format,
    from,
  };
}

/**
 * The backoff wait before a retry, in ms.
 *
 * `n` is Knative's attempt number as its dispatcher passes it to the backoff function: 0 before the FIRST
 * retry, 1 before the second, and so on. So with `backoffDelay: PT1S`, exponential waits 1 s, 2 s, 4 s, …
 * and linear waits 0 s, 1 s, 2 s, … (Knative's linear policy retries once immediately, then grows).
 * Capped at `Number.MAX_SAFE_INTEGER` so huge retry counts cannot overflow.
 */
export function backoffMs(policy: Pick<ResolvedDeliveryPolicy, 'backoffPolicy' | 'backoffDelayMs'>, n: number): number {
  const factor = policy.backoffPolicy === 'linear' ? n : 2 ** n;
  return Math.min(policy.backoffDelayMs * factor, Number.MAX_SAFE_INTEGER);
}
