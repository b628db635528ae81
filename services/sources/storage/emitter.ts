import type { Logger } from 'pino';
import type { CloudEvent } from '../../core/cloudevent.ts';
import {
  type AttemptResult,
  type DeliverySpec,
  deliverWithRetries,
  type ResolvedDeliveryPolicy,
  toResolvedPolicy,
} from '../../core/delivery/index.ts';
import { storageEvent } from './events.ts';
import type { ObjectChange } from './types.ts';

/**
 * Sends one event to a sink URL and reads the answer; rejects on network errors. The platform passes
 * `sendEvent` (services/core/http/sender.ts), the same sender PingSource's ticks go through.
 */
export type StorageSend = (event: CloudEvent, sinkUri: string, signal: AbortSignal) => Promise<AttemptResult>;

/**
 * Delivery of a StorageSource without `spec.delivery`: like PingSource's ticks, 5 quick exponential retries
 * (0.05 s … 0.8 s), each attempt cut at 10 s. An event still refused is not lost: its object stays unrecorded
 * and is announced again later (next poll, directory retry, or the webhook sender's own retry).
 */
export const DEFAULT_SOURCE_DELIVERY: Readonly<DeliverySpec> = Object.freeze({
  retry: 5,
  backoffPolicy: 'exponential',
  backoffDelay: 'PT0.05S',
  timeout: 'PT10S',
});

/** What one source emits with: where, how, and what it adds to every event. */
export interface EmitTarget {
  sinkUri: string;
  /** CloudEvent `source` of the events. */
  source: string;
  extensions: Readonly<Record<string, string>>;
  policy: ResolvedDeliveryPolicy;
  send: StorageSend;
  logger: Logger;
  /** Aborted when the source stops: the attempt in flight and the backoff are cut short. */
  signal: AbortSignal;
}

/** The resolved policy of a source's `spec.delivery` (or the default). */
export function sourcePolicy(delivery: DeliverySpec | undefined): ResolvedDeliveryPolicy {
  return toResolvedPolicy(delivery ?? DEFAULT_SOURCE_DELIVERY, 'trigger', 'spec.delivery');
}

/**
 * Builds the change's event and delivers it with the source's retry policy. Resolves `true` once the sink
 * answered 2xx, `false` when it never did (logged) or the source stopped; never rejects.
 */
export async function emitChange(target: EmitTarget, change: ObjectChange): Promise<boolean> {
  const event = storageEvent(change, target.source, target.extensions);
  const log = { id: event.attributes.id, type: event.attributes.type, key: change.key, bucket: change.bucket };
  const outcome = await deliverWithRetries(
    (_timeoutMs, signal) => target.send(event, target.sinkUri, signal),
    target.policy,
    {
      signal: target.signal,
      onRetry: (next, delayMs) => target.logger.debug({ ...log, attempt: next, delayMs }, 'storage event retry'),
    },
  );
  if (outcome.ok) {
    target.logger.debug(log, 'storage event delivered');
    return true;
  }
  if (!outcome.aborted) {
    target.logger.warn(
      { ...log, attempts: outcome.attempts, status: outcome.lastStatus, err: outcome.lastError?.message },
      'storage event not accepted by the sink',
    );
  }
  return false;
}

/** Runs tasks one at a time in the order given, so one object's created/deleted events keep their order. */
export class SerialQueue {
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;

  /** Queues `task`; the returned promise settles with it (a failure is also logged by the caller's task). */
  push(task: () => Promise<void>): Promise<void> {
    this.#pending++;
    const run = this.#tail.then(task).finally(() => this.#pending--);
    this.#tail = run.catch(() => {});
    return run;
  }

  /** Tasks queued or running. */
  get pending(): number {
    return this.#pending;
  }

  /** Resolves when every task queued so far has settled. */
  drained(): Promise<void> {
    return this.#tail;
  }
}
