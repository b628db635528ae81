import { type Admin, Kafka, type Producer } from 'kafkajs';
import type { CloudEvent } from '../../services/core/cloudevent.ts';
import { BackendUnavailableError, ElasticServingError } from '../../services/core/errors.ts';
import type { ChannelHealth, EventHandler, EventLog, ReplayFrom, SubscribeOptions, Subscription } from '../contract.ts';
import { resolveSubscribeOptions } from '../subscribe-options.ts';
import { AdminOps, type PartitionOffset } from './admin-ops.ts';
import { AppendBatcher } from './append-batcher.ts';
import { AttemptCounter } from './attempts.ts';
import { encodeRecord } from './codec.ts';
import { ConnectionMonitor, describe } from './connection.ts';
import { GroupConsumer } from './group-consumer.ts';
import { hasErrorName, isConnectionError, isTopicMissing } from './kafka-errors.ts';
import { kafkajsLogCreator } from './kafkajs-logger.ts';
import { KeyedMutex } from './keyed-mutex.ts';
import { KafkaNames } from './names.ts';
import { type KafkaEventLogOptions, type ResolvedKafkaOptions, resolveKafkaOptions, topicSettings } from './options.ts';
import { keylessAwarePartitioner } from './partitioner.ts';
import { Renewable } from './renewable.ts';
import { parseReplayPositions } from './replay.ts';
import { noDelaySocketFactory } from './socket-factory.ts';

export type { KafkaEventLogOptions, KafkaTopicSettings } from './options.ts';

/**
 * The Kafka channel: a topic per broker, a consumer group per trigger, events in the CloudEvents Kafka binding's
 * binary mode (`ce_*` headers, `content-type`, key = `partitionkey`), appended with acks=all.
 *
 * Kafka-specific semantics (the contract allows them):
 * - Keyless events all go to one partition (`keylessPartition`, default the first) so they keep one order; keyed
 *   events spread by key (murmur2, as the Java client). Order between different keys (or keyed and keyless events)
 *   is not kept. Members of a group in one process share the group's partitions.
 * - Positions are `<partition>:<offset>`; `replay({position})` moves only the partitions it names (a list
 *   `p:o,p:o` is accepted), `replay({time})` and `'beginning'` move all. Replay and `deleteGroup` need the group
 *   to have no members in other processes (`ES_ERR_CONFLICT` otherwise): this process's consumer of the group is
 *   stopped for the moment the offsets move.
 * - Redelivery after a rejection or an expired ack wait happens in this process (Kafka has no per-record nack);
 *   the record stays uncommitted meanwhile, so a crash redelivers it from Kafka. `deliveryCount` is counted in
 *   this process and restarts at 1 elsewhere.
 * - No dedup by `source`+`id` (the idempotent producer only drops its own retries).
 */
export class KafkaEventLog implements EventLog {
  readonly name = 'kafka';
  readonly durable = true;
  readonly #options: ResolvedKafkaOptions;
  readonly #names: KafkaNames;
  readonly #kafka: Kafka;
  readonly #producer: Renewable<Producer>;
  readonly #admin: Renewable<Admin>;
  readonly #probeAdmin: Admin;
  readonly #ops: AdminOps;
  readonly #monitor: ConnectionMonitor;
  readonly #batcher: AppendBatcher;
  /** Kafka topics known to exist (created or used by this log). */
  readonly #topics = new Set<string>();
  /** Kafka topics this log produced to since its producer was (re)made. */
  readonly #produced = new Set<string>();
  readonly #groups = new Map<string, GroupConsumer>();
  readonly #attempts = new Map<string, AttemptCounter>();
  readonly #locks = new KeyedMutex();
  readonly #subscriptions = new Set<Subscription>();
  #probeConnected = false;
  #closed = false;

  constructor(options: KafkaEventLogOptions = {}) {
    this.#options = resolveKafkaOptions(options);
    const o = this.#options;
    this.#names = new KafkaNames(o.prefix);
    this.#kafka = new Kafka({
      clientId: o.clientId,
      brokers: o.brokers,
      connectionTimeout: 1000,
      requestTimeout: 10_000,
      retry: { initialRetryTime: 100, maxRetryTime: 2000, retries: 8 },
      socketFactory: noDelaySocketFactory,
      ...kafkajsLogCreator(o.logger),
    });
    this.#producer = new Renewable(() =>
      this.#kafka.producer({
        createPartitioner: keylessAwarePartitioner(o.keylessPartition),
        idempotent: o.idempotent,
        allowAutoTopicCreation: false,
        // Bounded retries (kafkajs' own default) unless idempotent, which kafkajs requires to retry forever.
        ...(o.idempotent ? { maxInFlightRequests: 1 } : { retry: { retries: 5 } }),
      }),
    );
    // Few retries: a call on a missing topic would otherwise retry for seconds before failing.
    this.#admin = new Renewable(() =>
      this.#kafka.admin({ retry: { initialRetryTime: 100, maxRetryTime: 500, retries: 3 } }),
    );
    this.#probeAdmin = this.#kafka.admin({ retry: { retries: 0 } });
    this.#ops = new AdminOps(this.#kafka, this.#admin, o);
    this.#monitor = new ConnectionMonitor({
      probe: () => this.#probe(),
      initialDelayMs: o.reconnectInitialDelayMs,
      maxDelayMs: o.reconnectMaxDelayMs,
      checkIntervalMs: o.healthCheckIntervalMs,
      onChange: (health) =>
        o.logger?.[health.connected ? 'info' : 'warn']({ channel: 'kafka', reason: health.reason }, 'kafka connection'),
    });
    this.#batcher = new AppendBatcher({
      send: (topicMessages) =>
        this.#producer.use(async (producer) => {
          for (const { topic } of topicMessages) this.#produced.add(topic);
          await producer.sendBatch({ acks: -1, topicMessages });
        }),
      monitor: this.#monitor,
      maxBatchBytes: o.maxBatchBytes,
      maxBatchRecords: o.maxBatchRecords,
      timeoutMs: o.unavailableTimeoutMs,
      onTopicMissing: (topic) => this.#forgetTopic(topic),
    });
    this.#monitor.start();
  }

  health(): ChannelHealth {
    return this.#monitor.health();
  }

  async ensureTopic(topic: string): Promise<void> {
    this.#open();
    const kafkaTopic = this.#names.topic(topic);
    await this.#call('ensureTopic', () => this.#ops.createTopic(kafkaTopic, topicSettings(this.#options, topic)));
    this.#topics.add(kafkaTopic);
  }

  async deleteTopic(topic: string): Promise<void> {
    this.#open();
    const kafkaTopic = this.#names.topic(topic);
    const prefix = this.#names.groupPrefix(topic);
    for (const [groupId, group] of [...this.#groups]) {
      if (!groupId.startsWith(prefix)) continue;
      await this.#locks.run(groupId, () => this.#dropGroup(groupId, group));
    }
    await this.#call('deleteTopic', async () => {
      await this.#ops.deleteGroups(await this.#ops.groupsWithPrefix(prefix));
      if (!this.#options.keepTopicOnDelete) await this.#ops.deleteTopic(kafkaTopic);
    });
    for (const groupId of [...this.#attempts.keys()]) if (groupId.startsWith(prefix)) this.#attempts.delete(groupId);
    if (!this.#options.keepTopicOnDelete) this.#forgetTopic(kafkaTopic);
  }

  async append(topic: string, events: readonly CloudEvent[]): Promise<void> {
    this.#open();
    if (events.length === 0) return;
    const kafkaTopic = this.#names.topic(topic);
    if (!this.#topics.has(kafkaTopic)) await this.ensureTopic(topic);
    const limit = this.#options.topics[topic]?.maxMessageBytes ?? this.#options.maxMessageBytes;
    const timestamp = String(Date.now());
    const messages = new Array(events.length);
    const bytes = new Array<number>(events.length);
    for (let i = 0; i < events.length; i++) {
      const record = encodeRecord(events[i]!, timestamp);
      if (record.bytes > limit) {
        throw new ElasticServingError(
          'ES_ERR_BODY_TOO_LARGE',
          `event ${events[i]!.attributes.id} is ${record.bytes} bytes as a Kafka record; the topic takes ${limit}`,
        );
      }
      messages[i] = record.message;
      bytes[i] = record.bytes;
    }
    return this.#batcher.append(kafkaTopic, messages, bytes);
  }

  async subscribe(
    topic: string,
    group: string,
    handler: EventHandler,
    options: SubscribeOptions = {},
  ): Promise<Subscription> {
    this.#open();
    const { ordered, ...member } = resolveSubscribeOptions(options);
    const kafkaTopic = this.#names.topic(topic);
    const groupId = this.#names.group(topic, group);
    if (!this.#topics.has(kafkaTopic)) await this.ensureTopic(topic);
    return this.#locks.run(groupId, async () => {
      this.#open();
      let consumer = this.#groups.get(groupId);
      if (consumer !== undefined && consumer.ordered !== ordered) {
        throw new ElasticServingError(
          'ES_ERR_CONFLICT',
          `group ${group} on ${topic} is consumed ${consumer.ordered ? 'ordered' : 'unordered'} in this process`,
        );
      }
      if (consumer === undefined) {
        await this.#call('subscribe', () => this.#initGroup(groupId, kafkaTopic, options.from ?? 'end'), 2);
        consumer = new GroupConsumer({
          kafka: this.#kafka,
          topic: kafkaTopic,
          groupId,
          ordered,
          options: this.#options,
          monitor: this.#monitor,
          attempts: this.#attemptsOf(groupId),
          logger: this.#options.logger,
        });
        this.#groups.set(groupId, consumer);
        consumer.start();
      }
      const owner = consumer;
      const handle = owner.dispatcher.addMember(handler, member);
      let closing: Promise<void> | undefined;
      const subscription: Subscription = {
        close: (graceMs) => {
          closing ??= this.#unsubscribe(groupId, owner, handle, graceMs ?? this.#options.defaultGraceMs).finally(() =>
            this.#subscriptions.delete(subscription),
          );
          return closing;
        },
      };
      this.#subscriptions.add(subscription);
      return subscription;
    });
  }

  async lag(topic: string, group: string): Promise<number> {
    this.#open();
    const kafkaTopic = this.#names.topic(topic);
    const groupId = this.#names.group(topic, group);
    return this.#call('lag', async () => {
      if (!this.#topics.has(kafkaTopic) && !(await this.#ops.topicExists(kafkaTopic))) return 0;
      try {
        const committed = await this.#ops.committed(groupId, kafkaTopic);
        if (![...committed.values()].some((offset) => offset >= 0)) return 0;
        let lag = 0;
        for (const { partition, low, high } of await this.#ops.watermarks(kafkaTopic)) {
          const offset = committed.get(partition) ?? -1;
          lag += Math.max(0, high - (offset >= 0 ? Math.max(offset, low) : low));
        }
        return lag;
      } catch (err) {
        if (!isTopicMissing(err)) throw err;
        this.#forgetTopic(kafkaTopic);
        return 0;
      }
    });
  }

  async replay(topic: string, group: string, from: ReplayFrom): Promise<void> {
    this.#open();
    const kafkaTopic = this.#names.topic(topic);
    const groupId = this.#names.group(topic, group);
    if (!this.#topics.has(kafkaTopic)) await this.ensureTopic(topic);
    await this.#locks.run(groupId, async () => {
      const offsets = await this.#call('replay', () => this.#replayOffsets(kafkaTopic, from));
      const consumer = this.#groups.get(groupId);
      await consumer?.pause();
      try {
        await this.#call('replay', () => this.#ops.commitIdle(groupId, kafkaTopic, offsets), 2);
        this.#attempts.get(groupId)?.clear();
      } finally {
        if (consumer !== undefined && this.#groups.get(groupId) === consumer) consumer.start();
      }
    });
  }

  async deleteGroup(topic: string, group: string): Promise<void> {
    this.#open();
    const groupId = this.#names.group(topic, group);
    await this.#locks.run(groupId, async () => {
      const consumer = this.#groups.get(groupId);
      if (consumer !== undefined) await this.#dropGroup(groupId, consumer);
      this.#attempts.delete(groupId);
      await this.#call('deleteGroup', () => this.#ops.deleteGroups([groupId]));
    });
  }

  async close(graceMs?: number): Promise<void> {
    if (!this.#closed) this.#closed = true;
    const grace = graceMs ?? this.#options.defaultGraceMs;
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.close(grace)));
    await this.#batcher.close(grace);
    this.#monitor.close();
    await Promise.all([
      this.#producer.close(),
      this.#admin.close(),
      this.#probeAdmin.disconnect().catch(() => undefined),
    ]);
  }

  #open(): void {
    if (this.#closed) throw new BackendUnavailableError('the kafka event log is closed');
  }

  async #probe(): Promise<void> {
    await this.#bounded(this.#options.unavailableTimeoutMs, async () => {
      if (!this.#probeConnected) {
        await this.#probeAdmin.connect();
        this.#probeConnected = true;
      }
      await this.#probeAdmin.describeCluster();
    }).catch((err: unknown) => {
      if (hasErrorName(err, 'KafkaJSConnectionError') || hasErrorName(err, 'KafkaJSNumberOfRetriesExceeded')) {
        this.#probeConnected = false;
        void this.#probeAdmin.disconnect().catch(() => undefined);
      }
      throw err;
    });
  }

  /**
   * Runs a cluster operation: waits for the connection (up to `unavailableTimeoutMs`), then gives the call
   * `scale`× that long before answering `BackendUnavailableError` (the call itself may still finish later).
   */
  async #call<T>(what: string, operation: () => Promise<T>, scale = 1): Promise<T> {
    const timeout = this.#options.unavailableTimeoutMs;
    await this.#monitor.waitUp(Date.now() + timeout, what);
    try {
      const result = await this.#bounded(timeout * scale, operation);
      this.#monitor.up();
      return result;
    } catch (err) {
      if (err instanceof ElasticServingError) throw err;
      if (err instanceof TimeoutError || isConnectionError(err)) {
        this.#monitor.down(describe(err));
        throw this.#monitor.unavailable(what, err);
      }
      throw new BackendUnavailableError(`kafka ${what} failed: ${describe(err)}`, { cause: err });
    }
  }

  #bounded<T>(timeoutMs: number, operation: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      operation(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TimeoutError(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** A group without committed offsets gets its start position (`from`) committed before anyone consumes. */
  async #initGroup(groupId: string, topic: string, from: 'beginning' | 'end'): Promise<void> {
    const committed = await this.#ops.committed(groupId, topic);
    if ([...committed.values()].some((offset) => offset >= 0)) return;
    const marks = await this.#ops.watermarks(topic);
    const offsets = marks.map(({ partition, low, high }) => ({ partition, offset: from === 'beginning' ? low : high }));
    try {
      await this.#ops.commitIdle(groupId, topic, offsets);
    } catch (err) {
      // Another process is creating the same group right now: its position stands.
      if (!(err instanceof ElasticServingError && err.code === 'ES_ERR_CONFLICT')) throw err;
    }
  }

  async #replayOffsets(topic: string, from: ReplayFrom): Promise<PartitionOffset[]> {
    const marks = await this.#ops.watermarks(topic);
    if (from === 'beginning') return marks.map(({ partition, low }) => ({ partition, offset: low }));
    if ('time' in from) {
      const time = from.time.getTime();
      if (Number.isNaN(time)) throw new ElasticServingError('ES_ERR_BAD_REQUEST', 'invalid replay time');
      return this.#ops.offsetsAt(topic, time);
    }
    const wanted = parseReplayPositions(from.position);
    return wanted.map(({ partition, offset }) => {
      const mark = marks.find((m) => m.partition === partition);
      if (mark === undefined) {
        throw new ElasticServingError('ES_ERR_BAD_REQUEST', `kafka topic ${topic} has no partition ${partition}`);
      }
      // Only what is retained can be replayed; beyond the end means the end.
      return { partition, offset: Math.min(Math.max(offset, mark.low), mark.high) };
    });
  }

  async #unsubscribe(groupId: string, owner: GroupConsumer, member: MemberHandle, graceMs: number): Promise<void> {
    await owner.dispatcher.removeMember(member, graceMs);
    await this.#locks.run(groupId, async () => {
      if (owner.dispatcher.memberCount > 0 || this.#groups.get(groupId) !== owner) return;
      this.#groups.delete(groupId);
      await owner.stop(true);
    });
  }

  /** Stops this process's consumer of a group without committing anything more (the group is going away). */
  async #dropGroup(groupId: string, consumer: GroupConsumer): Promise<void> {
    if (this.#groups.get(groupId) === consumer) this.#groups.delete(groupId);
    await consumer.stop(false);
  }

  #attemptsOf(groupId: string): AttemptCounter {
    let attempts = this.#attempts.get(groupId);
    if (attempts === undefined) {
      attempts = new AttemptCounter();
      this.#attempts.set(groupId, attempts);
    }
    return attempts;
  }

  #forgetTopic(topic: string): void {
    this.#topics.delete(topic);
    // The producer would keep asking for the deleted topic's metadata and fail (see Renewable).
    if (this.#produced.delete(topic)) {
      this.#produced.clear();
      this.#producer.renew();
    }
  }
}

type MemberHandle = ReturnType<GroupConsumer['dispatcher']['addMember']>;

class TimeoutError extends Error {}
