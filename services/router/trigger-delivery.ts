import type { Logger } from 'pino';
import type { DeliveryInfo } from '../../brokers/contract.ts';
import { type CloudEvent, EXT_ARRIVAL_TIME, EXT_BROKER_TTL } from '../core/cloudevent.ts';
import {
  type DeliveryOutcome,
  deliverWithRetries,
  type ResolvedDeliveryPolicy,
  withDeadLetterExtensions,
} from '../core/delivery/index.ts';
import type { Filter } from '../core/filters/index.ts';
import { type EventSender, httpSender, type SendResult } from '../core/http/sender.ts';
import type { Metrics } from '../core/metrics.ts';
import type { RateLimiter } from './flow-control.ts';

/** Everything the router needs to serve one Trigger, resolved by its reconciler. */
export interface TriggerTarget {
  namespace: string;
  name: string;
  filter: Filter;
  subscriberUri: string;
  /**
   * How events reach the subscriber; plain HTTP to `subscriberUri` when unset. The embedded platform hands its
   * functions' events to the gateway in-process (same balancing and containerConcurrency, one HTTP hop less).
   */
  send?: EventSender;
  policy: ResolvedDeliveryPolicy;
  /** Resolved dead-letter sink URL, if any. */
  deadLetterUri?: string;
  /** Publishes a reply back into the trigger's broker; rejects when it could not be stored. */
  publishReply(event: CloudEvent): Promise<void>;
  rateLimiter?: RateLimiter;
}

export interface DeliveryContext {
  metrics?: Metrics;
  logger: Logger;
  /** Aborted at shutdown: waiting retries stop and the event stays queued. */
  shutdown: AbortSignal;
}

function ttlOf(event: CloudEvent): number {
  const ttl = Number(event.attributes[EXT_BROKER_TTL] ?? 255);
  return Number.isFinite(ttl) ? ttl : 255;
}

/**
 * Builds the EventLog handler of one trigger: filter, deliver with retries, publish the reply, dead-letter.
 * Resolving acknowledges the event; throwing leaves it queued for redelivery (only when the outcome could not be
 * settled: a reply or dead letter that could not be stored, or shutdown in the middle of retries).
 */
export function triggerHandler(target: TriggerTarget, ctx: DeliveryContext) {
  const labels = { namespace: target.namespace, trigger: target.name };
  // Labelled children resolved once per trigger: label lookups per event showed in the router's profile.
  const outcomes = new Map<string, { inc(): void }>();
  const count = (outcome: string) => {
    if (!ctx.metrics) return;
    let child = outcomes.get(outcome);
    if (!child) {
      child = ctx.metrics.deliveries.labels({ ...labels, outcome });
      outcomes.set(outcome, child);
    }
    child.inc();
  };
  const latency = ctx.metrics?.deliveryLatency.labels(labels);
  const send = target.send ?? httpSender(target.subscriberUri);

  return async (event: CloudEvent, _info: DeliveryInfo): Promise<void> => {
    if (!target.filter.match(event)) {
      count('filtered');
      return;
    }
    if (target.rateLimiter) await target.rateLimiter.take(ctx.shutdown);
    const outcome = await deliverWithRetries((_timeoutMs, signal) => send(event, signal), target.policy, {
      signal: ctx.shutdown,
    });
    if (outcome.ok) {
      const arrival = Date.parse(String(event.attributes[EXT_ARRIVAL_TIME] ?? ''));
      if (Number.isFinite(arrival)) latency?.observe((Date.now() - arrival) / 1000);
      count('delivered');
      const result = outcome.result as SendResult | undefined;
      if (result?.reply) await handleReply(target, ctx, event, result.reply);
      else if (result?.status === 200 && result.body.length > 0) {
        // As in Knative: a 200 whose body is not a CloudEvent is a success without a reply.
        ctx.metrics?.replies.inc({ ...labels, outcome: 'not_cloudevent' });
        ctx.logger.debug(
          { trigger: labels, id: event.attributes.id },
          'subscriber answered 200 with a non-CloudEvent body',
        );
      }
      return;
    }
    if (outcome.aborted || ctx.shutdown.aborted) throw new Error('shutting down: event stays queued');
    await deadLetter(target, ctx, event, outcome);
  };
}

async function handleReply(target: TriggerTarget, ctx: DeliveryContext, event: CloudEvent, reply: CloudEvent) {
  const labels = { namespace: target.namespace, trigger: target.name };
  const ttl = ttlOf(event) - 1;
  if (ttl <= 0) {
    ctx.metrics?.replies.inc({ ...labels, outcome: 'dropped_ttl' });
    ctx.logger.warn({ trigger: labels, id: reply.attributes.id }, 'reply dropped: broker TTL reached 0 (reply loop?)');
    return;
  }
  reply.attributes[EXT_BROKER_TTL] = ttl;
  reply.attributes[EXT_ARRIVAL_TIME] = new Date().toISOString();
  // If the reply cannot be stored this throws, so the whole delivery is retried later (Knative semantics).
  await target.publishReply(reply);
  ctx.metrics?.replies.inc({ ...labels, outcome: 'published' });
}

async function deadLetter(target: TriggerTarget, ctx: DeliveryContext, event: CloudEvent, outcome: DeliveryOutcome) {
  const labels = { namespace: target.namespace, trigger: target.name };
  const reason = outcome.lastError?.message ?? `status ${outcome.lastStatus}`;
  if (!target.deadLetterUri) {
    // Knative drops here too; we make it loud (log + metric) since nothing else will remember the event.
    ctx.metrics?.deliveries.inc({ ...labels, outcome: 'dropped' });
    ctx.logger.error(
      { trigger: labels, id: event.attributes.id, attempts: outcome.attempts, reason },
      'delivery failed after all retries and the trigger has no dead-letter sink: event dropped',
    );
    return;
  }
  const dead = withDeadLetterExtensions(event, target.subscriberUri, outcome);
  const sent = await deliverWithRetries(
    (_timeoutMs, signal) => httpSender(target.deadLetterUri!)(dead, signal),
    target.policy,
    { signal: ctx.shutdown },
  );
  if (!sent.ok) {
    throw new Error(
      `dead-letter sink ${target.deadLetterUri} failed too (${sent.lastError?.message ?? sent.lastStatus}); event stays queued`,
    );
  }
  ctx.metrics?.deliveries.inc({ ...labels, outcome: 'dead_lettered' });
  ctx.metrics?.deadLetters.inc(labels);
  ctx.logger.warn({ trigger: labels, id: event.attributes.id, reason }, 'event dead-lettered');
}
