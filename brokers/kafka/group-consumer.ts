import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { EXT_PARTITION_KEY } from '../../services/core/cloudevent.ts';
import type { AttemptCounter } from './attempts.ts';
import { decodeRecord } from './codec.ts';
import type { ConnectionMonitor } from './connection.ts';
import { describe } from './connection.ts';
import { type Delivery, Dispatcher } from './dispatcher.ts';
import { isConnectionError } from './kafka-errors.ts';
import type { KafkaLogLogger, ResolvedKafkaOptions } from './options.ts';
import { PartitionTracker, type TrackedRecord } from './partition-tracker.ts';
import { formatPosition } from './replay.ts';

export interface GroupConsumerOptions {
  kafka: Kafka;
  /** Kafka topic. */
  topic: string;
  groupId: string;
  ordered: boolean;
  options: ResolvedKafkaOptions;
  monitor: ConnectionMonitor;
  attempts: AttemptCounter;
  logger: KafkaLogLogger | undefined;
}

/** Bytes counted per record beyond its value for the prefetch bound (headers, objects). */
const RECORD_OVERHEAD_BYTES = 512;

/**
 * This process's member of one Kafka consumer group: one kafkajs consumer (eachBatch, manual commits) feeding a
 * `Dispatcher` shared by every subscription of the process to the group.
 *
 * Fetching runs ahead of the handlers (up to `prefetchEvents`/`prefetchBytes`), while commits follow completions:
 * each partition commits its `PartitionTracker` point, at most `commitIntervalMs` after a completion, one commit in
 * flight at a time. A partition that moves to another member (rebalance) is forgotten here; its unfinished events
 * are redelivered there from the last commit. A consumer that crashes (broker gone, session lost) is replaced with
 * backoff; events already fetched and still in flight are kept across the restart and not fetched twice.
 */
export class GroupConsumer {
  readonly ordered: boolean;
  readonly dispatcher: Dispatcher;
  readonly #config: GroupConsumerOptions;
  readonly #trackers = new Map<number, PartitionTracker>();
  #consumer: Consumer | undefined;
  #starting: Promise<void> | undefined;
  #wanted = false;
  #joined = false;
  #restartTimer: NodeJS.Timeout | undefined;
  #restartDelay: number;
  #commitTimer: NodeJS.Timeout | undefined;
  #committing: Promise<void> | undefined;

  constructor(config: GroupConsumerOptions) {
    this.#config = config;
    this.ordered = config.ordered;
    this.#restartDelay = config.options.reconnectInitialDelayMs;
    this.dispatcher = new Dispatcher({
      ordered: config.ordered,
      maxQueuedEvents: config.options.prefetchEvents,
      maxQueuedBytes: config.options.prefetchBytes,
      acked: (delivery) => this.#acked(delivery),
      nextCount: (position) => config.attempts.next(position),
    });
  }

  start(): void {
    this.#wanted = true;
    this.#restartDelay = this.#config.options.reconnectInitialDelayMs;
    this.#launch();
  }

  /** Leaves the group and forgets every fetched event, keeping the members (before offsets are moved). */
  async pause(): Promise<void> {
    this.#wanted = false;
    await this.#shutdown();
    this.#forgetAll();
  }

  /** Final stop: optionally commits what completed, leaves the group, forgets everything. */
  async stop(flushCommits: boolean): Promise<void> {
    this.#wanted = false;
    if (flushCommits) await this.#flushCommits();
    await this.#shutdown();
    this.#forgetAll();
  }

  #launch(): void {
    if (!this.#wanted || this.#consumer !== undefined) return;
    const { kafka, topic, groupId, options } = this.#config;
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: options.heartbeatIntervalMs,
      rebalanceTimeout: options.rebalanceTimeoutMs,
      maxWaitTimeInMs: options.maxWaitTimeMs,
      maxBytes: options.fetchMaxBytes,
      maxBytesPerPartition: options.maxMessageBytes,
      allowAutoTopicCreation: false,
      // Restarts are ours (with backoff, keeping in-flight events); kafkajs' own would forget them.
      retry: { restartOnFailure: async () => false },
    });
    this.#consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      if (this.#consumer === consumer) this.#assigned(event.payload.memberAssignment[topic] ?? []);
    });
    consumer.on(consumer.events.REBALANCING, () => {
      if (this.#consumer === consumer) this.#joined = false;
    });
    consumer.on(consumer.events.CRASH, (event) => this.#crashed(consumer, event.payload.error));
    this.#starting = (async () => {
      try {
        await consumer.connect();
        // Partitions without a committed offset (added later) start at their beginning: nothing is skipped.
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: 1,
          eachBatch: (payload) => this.#eachBatch(consumer, payload),
        });
      } catch (err) {
        this.#crashed(consumer, err);
      }
    })();
  }

  #crashed(consumer: Consumer, err: unknown): void {
    if (this.#consumer !== consumer) return;
    this.#consumer = undefined;
    this.#joined = false;
    this.dispatcher.wake();
    void consumer.disconnect().catch(() => undefined);
    const reason = describe(err);
    if (isConnectionError(err)) this.#config.monitor.down(reason);
    if (!this.#wanted) return;
    const delay = this.#restartDelay;
    this.#restartDelay = Math.min(delay * 2, this.#config.options.reconnectMaxDelayMs);
    this.#config.logger?.warn(
      { groupId: this.#config.groupId, err: reason, restartInMs: delay },
      'kafka consumer stopped; restarting',
    );
    clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(() => this.#launch(), delay);
  }

  #assigned(partitions: number[]): void {
    this.#joined = true;
    this.#restartDelay = this.#config.options.reconnectInitialDelayMs;
    this.#config.monitor.up();
    const assigned = new Set(partitions);
    for (const [partition, tracker] of this.#trackers) {
      if (assigned.has(partition)) continue;
      tracker.dropped = true;
      this.#trackers.delete(partition);
      this.dispatcher.dropPartition(partition);
    }
    for (const partition of partitions) {
      if (!this.#trackers.has(partition)) this.#trackers.set(partition, new PartitionTracker(partition));
    }
    this.#scheduleCommit();
  }

  async #eachBatch(consumer: Consumer, payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const tracker = this.#trackers.get(batch.partition);
    if (this.#consumer !== consumer || tracker === undefined) return;
    for (const message of batch.messages) {
      const offset = Number(message.offset);
      if (tracker.seen(offset)) continue;
      if (this.dispatcher.full) await this.#waitForRoom(consumer, heartbeat, isRunning);
      if (this.#consumer !== consumer || tracker.dropped || !isRunning() || isStale()) return;
      this.#deliver(batch.partition, message, tracker.add(offset), tracker);
      resolveOffset(message.offset);
    }
    tracker.fetchedThrough(Number(batch.lastOffset()) + 1);
    resolveOffset(batch.lastOffset());
  }

  /** Holds fetching while the dispatcher is full, heartbeating so the group keeps this member (and a rebalance
   * notice interrupts the wait by throwing back into kafkajs). */
  async #waitForRoom(consumer: Consumer, heartbeat: () => Promise<void>, isRunning: () => boolean): Promise<void> {
    while (this.dispatcher.full && this.#consumer === consumer && isRunning()) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.dispatcher.whenRoom(),
        new Promise((resolve) => (timer = setTimeout(resolve, this.#config.options.heartbeatIntervalMs))),
      ]);
      clearTimeout(timer);
      if (this.#consumer === consumer && isRunning()) await heartbeat();
    }
  }

  #deliver(partition: number, message: KafkaMessage, record: TrackedRecord, tracker: PartitionTracker): void {
    let event: ReturnType<typeof decodeRecord>;
    try {
      event = decodeRecord(message);
    } catch (err) {
      this.#config.logger?.warn(
        { groupId: this.#config.groupId, position: formatPosition(partition, message.offset), err: describe(err) },
        'skipping a kafka record that is not a valid CloudEvent',
      );
      if (tracker.complete(record)) this.#scheduleCommit();
      return;
    }
    const key = this.ordered ? event.attributes[EXT_PARTITION_KEY] : undefined;
    const delivery: Delivery = {
      partition,
      position: formatPosition(partition, message.offset),
      event,
      bytes: (message.value?.length ?? 0) + RECORD_OVERHEAD_BYTES,
      record,
      key: key === undefined ? undefined : String(key),
      state: 'queued',
      stale: false,
      token: 0,
      member: undefined,
      timer: undefined,
    };
    this.dispatcher.push(delivery);
  }

  #acked(delivery: Delivery): void {
    this.#config.attempts.forget(delivery.position);
    const tracker = this.#trackers.get(delivery.partition);
    if (tracker !== undefined && !tracker.dropped && tracker.complete(delivery.record)) this.#scheduleCommit();
  }

  #scheduleCommit(): void {
    if (this.#commitTimer !== undefined || this.#committing !== undefined) return;
    this.#commitTimer = setTimeout(() => {
      this.#commitTimer = undefined;
      void this.#commit();
    }, this.#config.options.commitIntervalMs);
  }

  async #commit(): Promise<void> {
    const consumer = this.#consumer;
    if (consumer === undefined || !this.#joined || this.#committing !== undefined) return;
    const topic = this.#config.topic;
    const points: { tracker: PartitionTracker; offset: number }[] = [];
    for (const tracker of this.#trackers.values()) {
      const offset = tracker.uncommitted();
      if (offset !== undefined) points.push({ tracker, offset });
    }
    if (points.length === 0) return;
    let failed = false;
    this.#committing = consumer
      .commitOffsets(
        points.map(({ tracker, offset }) => ({ topic, partition: tracker.partition, offset: String(offset) })),
      )
      .then(
        () => {
          for (const { tracker, offset } of points) tracker.committed(offset);
        },
        (err: unknown) => {
          failed = true;
          this.#config.logger?.debug({ groupId: this.#config.groupId, err: describe(err) }, 'kafka commit failed');
        },
      );
    await this.#committing;
    this.#committing = undefined;
    if (failed) {
      // Retried after a pause, or at the next join.
      setTimeout(() => this.#scheduleCommit(), 100).unref();
    } else if ([...this.#trackers.values()].some((tracker) => tracker.uncommitted() !== undefined)) {
      this.#scheduleCommit();
    }
  }

  async #flushCommits(): Promise<void> {
    clearTimeout(this.#commitTimer);
    this.#commitTimer = undefined;
    if (this.#committing !== undefined) await this.#committing;
    await this.#commit();
  }

  async #shutdown(): Promise<void> {
    clearTimeout(this.#restartTimer);
    clearTimeout(this.#commitTimer);
    this.#commitTimer = undefined;
    const consumer = this.#consumer;
    const starting = this.#starting;
    this.#consumer = undefined;
    this.#joined = false;
    this.dispatcher.wake();
    if (consumer === undefined) return;
    // Disconnecting during the join would leave kafkajs to finish joining and run on; wait for it (bounded).
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      starting,
      new Promise((resolve) => (timer = setTimeout(resolve, this.#config.options.unavailableTimeoutMs))),
    ]);
    clearTimeout(timer);
    await consumer.disconnect().catch((err: unknown) => {
      this.#config.logger?.debug({ groupId: this.#config.groupId, err: describe(err) }, 'kafka consumer disconnect');
    });
  }

  #forgetAll(): void {
    for (const tracker of this.#trackers.values()) tracker.dropped = true;
    this.#trackers.clear();
    this.dispatcher.dropAll();
  }
}
