import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { EventLog, Subscription } from '../../brokers/contract.ts';
import { backoffMs, type ResolvedDeliveryPolicy } from '../core/delivery/index.ts';
import type { Metrics } from '../core/metrics.ts';
import { type TriggerTarget, triggerHandler } from './trigger-delivery.ts';

/**
 * Upper bound of one delivery with all its retries, twice over (the dead-letter pass uses the same policy), plus a
 * margin: the handler holds an event that long, so the ack deadline must outlast it.
 */
function ackWaitMs(policy: ResolvedDeliveryPolicy): number {
  const perAttempt = policy.timeoutMs ?? 30_000;
  let total = perAttempt;
  for (let n = 0; n < policy.retry; n++) {
    total += perAttempt + Math.max(backoffMs(policy, n), policy.retryAfterMaxMs ?? 0);
  }
  return total * 2 + 30_000;
}

/** How one trigger consumes its broker's topic. */
export interface TriggerSubscriptionSpec extends TriggerTarget {
  log: EventLog;
  topic: string;
  /** Consumer group: one per trigger, so each matching trigger gets its own delivery. */
  group: string;
  ordered: boolean;
  maxInFlight: number;
}

/**
 * The trigger dispatcher: one EventLog subscription per Trigger. Updating a trigger replaces its subscription; the
 * consumer group (and so its position) stays, so no event is skipped or delivered twice by the swap itself.
 */
export class Router {
  private readonly subscriptions = new Map<string, { spec: TriggerSubscriptionSpec; sub: Subscription }>();
  private readonly shutdown = new AbortController();

  constructor(private readonly deps: { logger: Logger; metrics?: Metrics }) {
    // Every in-flight delivery listens to the shutdown signal: hundreds at once is normal, not a leak.
    setMaxListeners(0, this.shutdown.signal);
  }

  async upsert(key: string, spec: TriggerSubscriptionSpec): Promise<void> {
    await this.stop(key);
    const handler = triggerHandler(spec, { ...this.deps, shutdown: this.shutdown.signal });
    const sub = await spec.log.subscribe(spec.topic, spec.group, handler, {
      ordered: spec.ordered,
      maxInFlight: spec.maxInFlight,
      ackWaitMs: ackWaitMs(spec.policy),
    });
    this.subscriptions.set(key, { spec, sub });
  }

  /** Stops delivering for a trigger; `deleteGroup` also forgets its position (Trigger deleted). */
  async remove(key: string, deleteGroup: boolean): Promise<void> {
    const entry = this.subscriptions.get(key);
    await this.stop(key);
    if (entry && deleteGroup) await entry.spec.log.deleteGroup(entry.spec.topic, entry.spec.group);
  }

  has(key: string): boolean {
    return this.subscriptions.has(key);
  }

  /** Lets in-flight deliveries finish for up to `graceMs`, then abandons retries (events stay queued). */
  async close(graceMs: number): Promise<void> {
    const timer = setTimeout(() => this.shutdown.abort(), graceMs);
    await Promise.all([...this.subscriptions.values()].map(({ sub }) => sub.close(graceMs)));
    clearTimeout(timer);
    this.shutdown.abort();
    this.subscriptions.clear();
  }

  private async stop(key: string): Promise<void> {
    const entry = this.subscriptions.get(key);
    if (!entry) return;
    this.subscriptions.delete(key);
    await entry.sub.close(5_000);
  }
}
