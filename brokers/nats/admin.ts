import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerInfo,
  type DeliverPolicy,
  DiscardPolicy,
  type JetStreamManager,
  nanos,
  ReplayPolicy,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from 'nats';
import { ElasticServingError } from '../../services/core/errors.ts';
import { isNotFound, isStreamNotFound } from './errors.ts';
import type { TopicNames } from './names.ts';
import type { ResolvedNatsOptions } from './options.ts';

/** JetStream: "stream name already in use with a different configuration". */
const STREAM_NAME_IN_USE = 10058;
const MIN_DUPLICATE_WINDOW_MS = 100;

/** The stream of one topic: file storage, limits retention, one subject. */
export function streamConfig(names: TopicNames, options: ResolvedNatsOptions): Partial<StreamConfig> {
  return {
    name: names.stream,
    subjects: [names.subject],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: options.discard === 'new' ? DiscardPolicy.New : DiscardPolicy.Old,
    max_age: nanos(options.maxAgeMs),
    max_bytes: options.maxBytes,
    max_msgs: options.maxMessages,
    max_msg_size: options.maxMessageBytes,
    duplicate_window: nanos(duplicateWindow(options)),
    num_replicas: options.replicas,
  };
}

/**
 * Creates the stream, or accepts an existing one that captures our subject (created earlier, by another process
 * with other limits, or externally). An existing stream that does not capture it is a conflict.
 */
export async function ensureStream(
  jsm: JetStreamManager,
  names: TopicNames,
  options: ResolvedNatsOptions,
): Promise<void> {
  try {
    await jsm.streams.add(streamConfig(names, options));
    return;
  } catch (err) {
    if ((err as { api_error?: { err_code?: number } }).api_error?.err_code !== STREAM_NAME_IN_USE) throw err;
  }
  const info = await jsm.streams.info(names.stream);
  if (!info.config.subjects?.includes(names.subject)) {
    throw new ElasticServingError(
      'ES_ERR_CONFLICT',
      `stream ${names.stream} exists but does not capture subject ${names.subject}`,
    );
  }
}

/**
 * JetStream wants a window of at least 100 ms and no longer than `max_age`, and reads 0 as its default (2 min);
 * without dedup no `Nats-Msg-Id` is sent, so the window is then moot.
 */
function duplicateWindow(options: ResolvedNatsOptions): number {
  const window = Math.max(options.duplicateWindowMs, MIN_DUPLICATE_WINDOW_MS);
  return options.maxAgeMs > 0 ? Math.min(window, options.maxAgeMs) : window;
}

/** How a group's consumer is set up. */
export interface GroupSettings {
  ackWaitMs: number;
  maxAckPending: number;
}

/** Where a consumer starts: JetStream's deliver policy and its start point. */
export type StartAt =
  | { deliver_policy: DeliverPolicy.New }
  | { deliver_policy: DeliverPolicy.All }
  | { deliver_policy: DeliverPolicy.StartSequence; opt_start_seq: number }
  | { deliver_policy: DeliverPolicy.StartTime; opt_start_time: string };

function consumerConfig(durable: string, settings: GroupSettings, start: StartAt): Partial<ConsumerConfig> {
  return {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(settings.ackWaitMs),
    max_ack_pending: settings.maxAckPending,
    max_deliver: -1,
    replay_policy: ReplayPolicy.Instant,
    ...start,
  };
}

/**
 * Makes sure the group's durable consumer exists: an existing one keeps its position (and gets this ack wait);
 * a new one starts at `start`.
 */
export async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  durable: string,
  settings: GroupSettings,
  start: StartAt,
): Promise<void> {
  let existing: ConsumerInfo | undefined;
  try {
    existing = await jsm.consumers.info(stream, durable);
  } catch (err) {
    if (isStreamNotFound(err) || !isNotFound(err)) throw err;
  }
  if (existing === undefined) {
    try {
      await jsm.consumers.add(stream, consumerConfig(durable, settings, start));
      return;
    } catch (err) {
      // Another member may have created it first, with other settings: then use that one.
      existing = await jsm.consumers.info(stream, durable).catch(() => {
        throw err;
      });
    }
  }
  if (existing.config.ack_wait !== nanos(settings.ackWaitMs)) {
    await jsm.consumers.update(stream, durable, { ack_wait: nanos(settings.ackWaitMs) });
  }
}

/**
 * Moves a group by recreating its consumer at `start` (JetStream cannot change a consumer's deliver policy),
 * keeping its ack wait and ack-pending bound. Events delivered and not yet acknowledged are offered again.
 */
export async function restartConsumer(
  jsm: JetStreamManager,
  stream: string,
  durable: string,
  defaults: GroupSettings,
  start: StartAt,
): Promise<void> {
  let settings = defaults;
  try {
    const { config } = await jsm.consumers.info(stream, durable);
    settings = {
      ackWaitMs: Math.round((config.ack_wait ?? nanos(defaults.ackWaitMs)) / 1e6),
      maxAckPending: config.max_ack_pending ?? defaults.maxAckPending,
    };
    await jsm.consumers.delete(stream, durable);
  } catch (err) {
    if (isStreamNotFound(err) || !isNotFound(err)) throw err;
  }
  await jsm.consumers.add(stream, consumerConfig(durable, settings, start));
}

/** Deletes a consumer; a missing consumer or stream is fine. */
export async function deleteConsumer(jsm: JetStreamManager, stream: string, durable: string): Promise<void> {
  try {
    await jsm.consumers.delete(stream, durable);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** Deletes a stream with its consumers; a missing stream is fine. */
export async function deleteStream(jsm: JetStreamManager, stream: string): Promise<void> {
  try {
    await jsm.streams.delete(stream);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** Deletes the consumers on `stream` whose names start with `prefix` (ours), leaving the stream. */
export async function deleteConsumersWithPrefix(jsm: JetStreamManager, stream: string, prefix: string): Promise<void> {
  const names: string[] = [];
  try {
    for await (const info of jsm.consumers.list(stream)) if (info.name.startsWith(prefix)) names.push(info.name);
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  for (const name of names) await deleteConsumer(jsm, stream, name);
}

/** Events the group has not acknowledged: not yet delivered plus delivered and unacknowledged; 0 when unknown. */
export async function consumerLag(jsm: JetStreamManager, stream: string, durable: string): Promise<number> {
  try {
    const info = await jsm.consumers.info(stream, durable);
    return info.num_pending + info.num_ack_pending;
  } catch (err) {
    if (isNotFound(err)) return 0;
    throw err;
  }
}
