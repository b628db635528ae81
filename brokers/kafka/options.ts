import { ElasticServingError } from '../../services/core/errors.ts';
import type { KeylessPlacement } from './partitioner.ts';

/** pino-compatible subset the adapter logs to. */
export interface KafkaLogLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Settings of the Kafka topic backing one EventLog topic (applied when the adapter creates it). */
export interface KafkaTopicSettings {
  /**
   * Partitions of the topic. Keyed events spread over them by `partitionkey`; keyless ones go where
   * `keylessPartition` says.
   * @defaultValue 10
   */
  partitions?: number;
  /**
   * Replication factor (1 on a single-node broker; 3 on a production cluster).
   * @defaultValue 1
   */
  replicationFactor?: number;
  /**
   * `retention.ms`: events older than this are deleted (whole segments at a time). -1 keeps them forever.
   * @defaultValue 604_800_000 (7 days)
   */
  retentionMs?: number;
  /**
   * `retention.bytes` per partition: the oldest segments are deleted beyond it. -1 means no size limit.
   * Kafka has no retention by event count (there is no `maxEntries` for this backend).
   * @defaultValue -1
   */
  retentionBytes?: number;
  /**
   * `max.message.bytes` of the topic: the largest record batch it accepts. Raised above the broker default (1 MiB)
   * so a 1 MiB event plus its headers fits.
   * @defaultValue 8_388_608 (8 MiB)
   */
  maxMessageBytes?: number;
}

/** Options of the Kafka channel (`new KafkaEventLog(options)`). */
export interface KafkaEventLogOptions extends KafkaTopicSettings {
  /**
   * Bootstrap brokers, `host:port`.
   * @defaultValue ['127.0.0.1:9092']
   */
  brokers?: string[];
  /**
   * Kafka client id (shows in broker logs and quotas).
   * @defaultValue 'elastic-serving'
   */
  clientId?: string;
  /**
   * Prefix of every topic and consumer group this log creates (see `KafkaNames` for the mapping), so several
   * installations or test runs share a cluster. `[A-Za-z0-9.-]*`.
   * @defaultValue 'es'
   */
  prefix?: string;
  /**
   * Per-topic overrides of the topic settings above, by EventLog topic name (`namespace.broker`).
   * @defaultValue {}
   */
  topics?: Record<string, KafkaTopicSettings>;
  /**
   * Where keyless events go. `'first'`/`'last'` store them all on the topic's first/last partition, so they keep
   * their append order for every group (the contract's "events without a partitionkey form one sequence", and FIFO
   * delivery with maxInFlight 1); `'round-robin'` spreads them over every partition (more consumer processes can
   * share them; their order is lost).
   * @defaultValue 'first'
   */
  keylessPartition?: KeylessPlacement;
  /**
   * Idempotent producer (producer id + sequence numbers): kafkajs' own retries never store a batch twice. It works
   * against Kafka 4.x, but kafkajs then retries a failing batch forever (limiting its retries could let a later
   * batch reuse the sequence numbers and be dropped as a duplicate while acknowledged), so one batch that can never
   * succeed — e.g. its topic was deleted by someone else — holds up every later append of this log. Off by default:
   * a retried batch may then be stored twice, which at-least-once delivery allows. Always acks=all.
   * @defaultValue false
   */
  idempotent?: boolean;
  /**
   * Largest coalesced produce request (approximate record bytes). Concurrent appends are sent together up to it;
   * an event bigger than this is sent on its own. Must stay below `maxMessageBytes`.
   * @defaultValue 1_048_576 (1 MiB)
   */
  maxBatchBytes?: number;
  /**
   * Most records in one coalesced produce request.
   * @defaultValue 2000
   */
  maxBatchRecords?: number;
  /**
   * How long `append`, `ensureTopic`, `replay`, ... wait for the broker before rejecting with
   * `BackendUnavailableError` (retry after 1 s).
   * @defaultValue 2000
   */
  unavailableTimeoutMs?: number;
  /**
   * First delay between reconnection probes and consumer restarts; doubles up to `reconnectMaxDelayMs`.
   * @defaultValue 100
   */
  reconnectInitialDelayMs?: number;
  /**
   * Longest delay between reconnection probes and consumer restarts.
   * @defaultValue 5000
   */
  reconnectMaxDelayMs?: number;
  /**
   * How often the broker is probed while connected, so `health()` notices an outage when nothing is flowing.
   * @defaultValue 2000
   */
  healthCheckIntervalMs?: number;
  /**
   * `deleteTopic` deletes the topic's consumer groups but leaves the Kafka topic in place (an external topic, as
   * with Knative's KafkaChannel on a pre-existing topic).
   * @defaultValue false
   */
  keepTopicOnDelete?: boolean;
  /**
   * Consumer session timeout: a consumer process that stops heartbeating loses its partitions after this. The
   * broker's `group.min.session.timeout.ms` (6000 by default) is the lower bound.
   * @defaultValue 6000
   */
  sessionTimeoutMs?: number;
  /**
   * Consumer heartbeat interval; also how quickly a member notices a rebalance (a new member joining).
   * @defaultValue 500
   */
  heartbeatIntervalMs?: number;
  /**
   * How long the coordinator waits for members to rejoin during a rebalance.
   * @defaultValue 10000
   */
  rebalanceTimeoutMs?: number;
  /**
   * Longest a fetch waits at the broker when there is nothing new. Data is returned as soon as it arrives (minBytes 1),
   * so this bounds rebalance and shutdown reaction time, not delivery latency.
   * @defaultValue 100
   */
  maxWaitTimeMs?: number;
  /**
   * Most bytes one fetch returns across partitions (at least one record batch is always returned).
   * @defaultValue 16_777_216 (16 MiB)
   */
  fetchMaxBytes?: number;
  /**
   * Events fetched but not yet handed to a handler, per group and process, before fetching pauses.
   * @defaultValue 1000
   */
  prefetchEvents?: number;
  /**
   * Bytes of fetched, not yet started events per group and process before fetching pauses.
   * @defaultValue 33_554_432 (32 MiB)
   */
  prefetchBytes?: number;
  /**
   * Offsets are committed at most this long after a handler completes (one commit in flight at a time), so after a
   * crash only events completed in the last few milliseconds (plus those in flight) are delivered again.
   * @defaultValue 5
   */
  commitIntervalMs?: number;
  /**
   * Grace for `close()` and `Subscription.close()` when the caller gives none.
   * @defaultValue 5000
   */
  defaultGraceMs?: number;
  /**
   * Where the adapter and kafkajs (WARN and ERROR only; protocol errors the adapter handles go to debug) log.
   * @defaultValue nothing is logged
   */
  logger?: KafkaLogLogger;
}

type Resolved = Required<Omit<KafkaEventLogOptions, 'logger'>> & Pick<KafkaEventLogOptions, 'logger'>;
export type ResolvedKafkaOptions = Resolved;

export const KAFKA_DEFAULTS = {
  brokers: ['127.0.0.1:9092'],
  clientId: 'elastic-serving',
  prefix: 'es',
  topics: {},
  partitions: 10,
  replicationFactor: 1,
  retentionMs: 604_800_000,
  retentionBytes: -1,
  maxMessageBytes: 8 * 1024 * 1024,
  keylessPartition: 'first',
  idempotent: false,
  maxBatchBytes: 1024 * 1024,
  maxBatchRecords: 2000,
  unavailableTimeoutMs: 2000,
  reconnectInitialDelayMs: 100,
  reconnectMaxDelayMs: 5000,
  healthCheckIntervalMs: 2000,
  keepTopicOnDelete: false,
  sessionTimeoutMs: 6000,
  heartbeatIntervalMs: 500,
  rebalanceTimeoutMs: 10_000,
  maxWaitTimeMs: 100,
  fetchMaxBytes: 16 * 1024 * 1024,
  prefetchEvents: 1000,
  prefetchBytes: 32 * 1024 * 1024,
  commitIntervalMs: 5,
  defaultGraceMs: 5000,
} as const satisfies Required<Omit<KafkaEventLogOptions, 'logger'>>;

export function resolveKafkaOptions(options: KafkaEventLogOptions): ResolvedKafkaOptions {
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const resolved = { ...KAFKA_DEFAULTS, ...defined } as ResolvedKafkaOptions;
  if (!Array.isArray(resolved.brokers) || resolved.brokers.length === 0)
    bad('brokers must list at least one host:port');
  for (const name of ['partitions', 'replicationFactor', 'maxBatchRecords', 'prefetchEvents'] as const) {
    integer(name, resolved[name], 1);
  }
  for (const name of [
    'maxMessageBytes',
    'maxBatchBytes',
    'unavailableTimeoutMs',
    'reconnectInitialDelayMs',
    'reconnectMaxDelayMs',
    'healthCheckIntervalMs',
    'sessionTimeoutMs',
    'heartbeatIntervalMs',
    'rebalanceTimeoutMs',
    'maxWaitTimeMs',
    'fetchMaxBytes',
    'prefetchBytes',
  ] as const) {
    integer(name, resolved[name], 1);
  }
  integer('commitIntervalMs', resolved.commitIntervalMs, 0);
  integer('defaultGraceMs', resolved.defaultGraceMs, 0);
  integer('retentionMs', resolved.retentionMs, -1);
  integer('retentionBytes', resolved.retentionBytes, -1);
  if (!['first', 'last', 'round-robin'].includes(resolved.keylessPartition)) {
    bad(`keylessPartition must be 'first', 'last' or 'round-robin', got ${String(resolved.keylessPartition)}`);
  }
  if (resolved.maxBatchBytes >= resolved.maxMessageBytes) bad('maxBatchBytes must be below maxMessageBytes');
  if (resolved.heartbeatIntervalMs >= resolved.sessionTimeoutMs)
    bad('heartbeatIntervalMs must be below sessionTimeoutMs');
  return resolved;
}

/** The settings of one topic: its override on top of the log-wide values. */
export function topicSettings(options: ResolvedKafkaOptions, topic: string): Required<KafkaTopicSettings> {
  const override = options.topics[topic] ?? {};
  const pick = <K extends keyof KafkaTopicSettings>(name: K): Required<KafkaTopicSettings>[K] =>
    (override[name] ?? options[name]) as Required<KafkaTopicSettings>[K];
  return {
    partitions: pick('partitions'),
    replicationFactor: pick('replicationFactor'),
    retentionMs: pick('retentionMs'),
    retentionBytes: pick('retentionBytes'),
    maxMessageBytes: pick('maxMessageBytes'),
  };
}

function integer(name: string, value: unknown, min: number): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    bad(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
}

function bad(message: string): never {
  throw new ElasticServingError('ES_ERR_BAD_REQUEST', `kafka channel: ${message}`);
}
