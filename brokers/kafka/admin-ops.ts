import type { Admin, Kafka } from 'kafkajs';
import { ElasticServingError } from '../../services/core/errors.ts';
import { isTopicMissing, protocolType } from './kafka-errors.ts';
import type { KafkaTopicSettings, ResolvedKafkaOptions } from './options.ts';
import type { Renewable } from './renewable.ts';

/** Errors of a topic just created or a broker just started (leaders and group coordinators not ready yet). */
const TRANSIENT = new Set([
  'NOT_LEADER_FOR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'GROUP_LOAD_IN_PROGRESS',
  'GROUP_COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR_FOR_GROUP',
  'REBALANCE_IN_PROGRESS',
]);

/** Runs `call`, retrying transient errors with backoff (25 ms doubling, ~1.6 s in all). */
async function retryTransient<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const type = protocolType(err);
      if (attempt >= 6 || type === undefined || !TRANSIENT.has(type)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
    }
  }
}

export interface Watermarks {
  partition: number;
  low: number;
  high: number;
}

export interface PartitionOffset {
  partition: number;
  offset: number;
}

/**
 * The cluster-side operations of the log (topics, groups, offsets), over one kafkajs admin client that is renewed
 * when a topic it knew disappeared (see `Renewable`).
 */
export class AdminOps {
  readonly #kafka: Kafka;
  readonly #admin: Renewable<Admin>;
  readonly #options: ResolvedKafkaOptions;

  constructor(kafka: Kafka, admin: Renewable<Admin>, options: ResolvedKafkaOptions) {
    this.#kafka = kafka;
    this.#admin = admin;
    this.#options = options;
  }

  /** Runs an admin call, retrying transient errors; a client that lost track of a deleted topic is renewed. */
  async #use<T>(call: (admin: Admin) => Promise<T>): Promise<T> {
    try {
      return await retryTransient(() => this.#admin.use(call));
    } catch (err) {
      if (isTopicMissing(err)) this.#admin.renew();
      throw err;
    }
  }

  /** Creates the topic unless it exists; true when it was created. */
  async createTopic(topic: string, settings: Required<KafkaTopicSettings>): Promise<boolean> {
    return this.#use((admin) =>
      admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic,
            numPartitions: settings.partitions,
            replicationFactor: settings.replicationFactor,
            configEntries: [
              { name: 'retention.ms', value: String(settings.retentionMs) },
              { name: 'retention.bytes', value: String(settings.retentionBytes) },
              { name: 'max.message.bytes', value: String(settings.maxMessageBytes) },
              // Replay by time and lag use the append time the adapter stamps on each record.
              { name: 'message.timestamp.type', value: 'CreateTime' },
            ],
          },
        ],
      }),
    );
  }

  async topicExists(topic: string): Promise<boolean> {
    return (await this.#use((admin) => admin.listTopics())).includes(topic);
  }

  /** Deletes the topic if it exists (kafkajs retries a missing topic for seconds, hence the check first). */
  async deleteTopic(topic: string): Promise<void> {
    if (!(await this.topicExists(topic))) return;
    try {
      await this.#use((admin) => admin.deleteTopics({ topics: [topic] }));
    } catch (err) {
      if (!isTopicMissing(err)) throw err;
    }
    // Deletion completes asynchronously; a create in the meantime would find the old topic still there.
    for (let waited = 0; waited < 2000 && (await this.topicExists(topic)); waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async groupsWithPrefix(prefix: string): Promise<string[]> {
    const { groups } = await this.#use((admin) => admin.listGroups());
    return groups.map((group) => group.groupId).filter((id) => id.startsWith(prefix));
  }

  /** Deletes consumer groups; missing ones are fine. A group that still has members elsewhere is a conflict. */
  async deleteGroups(groupIds: string[]): Promise<void> {
    if (groupIds.length === 0) return;
    // A member that just left may still count for a moment.
    for (let attempt = 0; ; attempt++) {
      try {
        const ids = groupIds;
        await this.#use((admin) => admin.deleteGroups(ids));
        return;
      } catch (err) {
        const failures = ((err as { groups?: { groupId: string; error?: unknown }[] }).groups ?? []).filter(
          (group) => protocolType(group.error) !== 'GROUP_ID_NOT_FOUND',
        );
        if (failures.length === 0 && (err as { groups?: unknown }).groups !== undefined) return;
        const busy = failures.some((group) => protocolType(group.error) === 'NON_EMPTY_GROUP');
        if (!busy) throw err;
        if (attempt >= 10) {
          throw new ElasticServingError(
            'ES_ERR_CONFLICT',
            `kafka consumer group ${failures.map((g) => g.groupId).join(', ')} still has members (other processes)`,
            { cause: err },
          );
        }
        groupIds = failures.map((group) => group.groupId);
        await new Promise((resolve) => setTimeout(resolve, 50 * (attempt + 1)));
      }
    }
  }

  /** Committed offset per partition; -1 where the group has none. Empty for an unknown topic. */
  async committed(groupId: string, topic: string): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    try {
      const [entry] = await this.#use((admin) => admin.fetchOffsets({ groupId, topics: [topic] }));
      for (const { partition, offset } of entry?.partitions ?? []) out.set(partition, Number(offset));
    } catch (err) {
      if (!isTopicMissing(err)) throw err;
    }
    return out;
  }

  async watermarks(topic: string): Promise<Watermarks[]> {
    const offsets = await this.#use((admin) => admin.fetchTopicOffsets(topic));
    return offsets.map(({ partition, low, high }) => ({ partition, low: Number(low), high: Number(high) }));
  }

  /** Per partition, the first offset whose record timestamp is at or after `time` (the end when none is). */
  async offsetsAt(topic: string, time: number): Promise<PartitionOffset[]> {
    const offsets = await this.#use((admin) => admin.fetchTopicOffsetsByTimestamp(topic, time));
    return offsets.map(({ partition, offset }) => ({ partition, offset: Number(offset) }));
  }

  /**
   * Sets a group's committed offsets while no consumer runs in it. kafkajs' `admin.setOffsets` does the same with a
   * throw-away consumer but waits a 5 s fetch timeout for it; this joins with a 10 ms one, commits, and leaves.
   * A group with members (in other processes) is a conflict: Kafka only lets a member commit, and the running
   * members would carry on from their own positions anyway.
   */
  async commitIdle(groupId: string, topic: string, offsets: PartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    const { groups } = await this.#use((admin) => admin.describeGroups([groupId]));
    const members = groups[0]?.members.length ?? 0;
    if (members > 0) {
      throw new ElasticServingError(
        'ES_ERR_CONFLICT',
        `kafka consumer group ${groupId} has ${members} active member(s) in other processes; stop them first`,
      );
    }
    await retryTransient(() => this.#commitAsTemporaryMember(groupId, topic, offsets));
  }

  async #commitAsTemporaryMember(groupId: string, topic: string, offsets: PartitionOffset[]): Promise<void> {
    const consumer = this.#kafka.consumer({
      groupId,
      sessionTimeout: this.#options.sessionTimeoutMs,
      heartbeatInterval: this.#options.heartbeatIntervalMs,
      rebalanceTimeout: this.#options.rebalanceTimeoutMs,
      maxWaitTimeInMs: 10,
      retry: { retries: 3, restartOnFailure: async () => false },
    });
    // kafkajs reports a failed join as a crash event, not as a rejection of run().
    let crash: unknown;
    consumer.on(consumer.events.CRASH, (event) => {
      crash = event.payload.error;
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => {} });
      if (crash !== undefined) throw crash;
      // Paused before its first fetch; it only exists to commit.
      consumer.pause([{ topic }]);
      await consumer.commitOffsets(
        offsets.map(({ partition, offset }) => ({ topic, partition, offset: String(offset) })),
      );
    } catch (err) {
      throw crash ?? err;
    } finally {
      await consumer.disconnect().catch(() => undefined);
    }
  }
}
