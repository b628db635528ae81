import type { CloudEvent } from '../services/core/cloudevent.ts';

/**
 * The EventLog contract: what every channel backend (memory, nats, kafka, redis) must do.
 * The conformance suite in brokers/conformance tests every adapter against exactly this text.
 *
 * Header-based backends store events in their protocol's binary mode, so extension values may come back in
 * their string form and absent data may come back as empty data.
 */
export interface EventLog {
  /** Backend name as used in broker class annotations: `memory`, `nats`, `kafka`, `redis`. */
  readonly name: string;
  /** Whether a stored event survives a restart of the process that owns this log. */
  readonly durable: boolean;

  /** Creates the topic (stream / Kafka topic / Redis stream) if it does not exist. Idempotent. */
  ensureTopic(topic: string): Promise<void>;
  /** Deletes the topic and every group on it. Idempotent. */
  deleteTopic(topic: string): Promise<void>;

  /**
   * Stores every event, in order. Resolves only once the backend has durably stored all of them (JetStream ack,
   * Kafka acks=all, Redis XADD reply; for memory: the event is in the bounded in-process log). Rejects with a
   * `BackendUnavailableError` or `BackendFullError` otherwise; then none, some or all may be stored, and the
   * caller answers 503 so the client resends (dedup by `source`+`id` absorbs repeats where supported).
   */
  append(topic: string, events: readonly CloudEvent[]): Promise<void>;

  /**
   * Delivers the topic's events to `handler`, at least once, to one member of the consumer `group`.
   * The handler's promise resolving acknowledges the event; rejecting redelivers it (after `redeliveryDelayMs`).
   * A group created by the first subscribe starts at `options.from` (default: the end of the log, so a new
   * Trigger sees only events appended after it was created, as in Knative); an existing group resumes where it was.
   */
  subscribe(topic: string, group: string, handler: EventHandler, options?: SubscribeOptions): Promise<Subscription>;

  /** Events appended to `topic` but not yet acknowledged by `group` (the autoscaler's queue depth); 0 for an
   * unknown topic or group. */
  lag(topic: string, group: string): Promise<number>;

  /**
   * Moves `group` back (or forward) so that delivery restarts at `from`: a log position returned in
   * `DeliveryInfo.position`, or the first event whose arrival is at or after a time. Only what the backend still
   * retains can be replayed; `deliveryCount` may restart at 1 for replayed events.
   */
  replay(topic: string, group: string, from: ReplayFrom): Promise<void>;

  /** Removes a consumer group and its position (Trigger deleted). Idempotent. */
  deleteGroup(topic: string, group: string): Promise<void>;

  /**
   * The connection state, for the Broker's status and `/metrics`. Adapters reconnect by themselves with backoff;
   * while disconnected, `append` rejects with `BackendUnavailableError` and subscriptions resume on reconnect.
   */
  health(): ChannelHealth;

  /** Releases connections. Subscriptions stop taking new events; in-flight handlers are awaited up to `graceMs`. */
  close(graceMs?: number): Promise<void>;
}

export interface ChannelHealth {
  /** True while the backend is reachable and answering. */
  connected: boolean;
  /** Why it is not connected (last error), for status messages. */
  reason?: string;
  /** When `connected` last changed. */
  since: Date;
}

export type ReplayFrom = { position: string } | { time: Date } | 'beginning';

export interface SubscribeOptions {
  /**
   * One in-flight event per partition key (`partitionkey` extension); events without one form a single sequence.
   * @defaultValue false
   */
  ordered?: boolean;
  /**
   * Unordered: at most this many events in flight at once for this subscriber. Ordered: across all keys.
   * @defaultValue 50
   */
  maxInFlight?: number;
  /**
   * How long a delivered event may stay unacknowledged before the backend redelivers it to another member; the
   * first handler's late result is then ignored. Durable backends give back the events of a consumer process that
   * died within seconds, however long this is (their liveness window), since the router's ack waits are minutes.
   * @defaultValue 30000
   */
  ackWaitMs?: number;
  /**
   * Delay before an event whose handler rejected is offered again.
   * @defaultValue 100
   */
  redeliveryDelayMs?: number;
  /**
   * Where a newly created group starts.
   * @defaultValue 'end'
   */
  from?: 'beginning' | 'end';
}

export interface DeliveryInfo {
  /** Backend-specific position of this event in the topic; usable with `replay({position})`. */
  position: string;
  /** How many times this event was delivered to this group, including this time (1 = first). */
  deliveryCount: number;
}

export type EventHandler = (event: CloudEvent, info: DeliveryInfo) => Promise<void>;

export interface Subscription {
  /**
   * Stops taking new events and waits for the in-flight ones (up to `graceMs`); events still unfinished then are
   * redelivered to the group. The group keeps its position.
   */
  close(graceMs?: number): Promise<void>;
}

export interface EventLogStats {
  events: number;
  bytes: number;
}
