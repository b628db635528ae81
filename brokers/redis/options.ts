import { hostname } from 'node:os';
import { ElasticServingError } from '../../services/core/errors.ts';
import { requireInteger } from '../subscribe-options.ts';

/** Where the adapter reports things an operator should see (pino's `logger.warn(obj, msg)` fits). */
export interface RedisLogLogger {
  warn(details: Record<string, unknown>, message: string): void;
}

/** Options of the Redis Streams channel. */
export interface RedisEventLogOptions {
  /**
   * Redis server URL (`redis://[user:password@]host:port[/db]`, `rediss://` for TLS).
   * @defaultValue 'redis://127.0.0.1:6379'
   */
  url?: string;
  /**
   * Namespace of everything created on the server: topic `t` is the stream key `<prefix>:stream:<t>` and group `g`
   * the consumer group `<prefix>:<g>` (both verbatim otherwise: Redis keys and group names are binary-safe).
   * @defaultValue 'es'
   */
  prefix?: string;
  /**
   * Retention by count: every XADD carries `MAXLEN ~ <maxEntries>` (approximate, so Redis trims whole macro nodes
   * and the stream may hold somewhat more). `null` turns count trimming off. Redis trims regardless of consumer
   * groups: an event a group has not acknowledged yet is lost once trimmed (see README).
   * @defaultValue 1_000_000
   */
  maxEntries?: number | null;
  /**
   * Retention by age in ms: entries older than this are trimmed with `MINID ~ <now - maxAgeMs>` (at XADD when
   * `maxEntries` is null, otherwise by an XTRIM at most once per `ageTrimEveryMs` per topic). `null` turns it off.
   * @defaultValue null
   */
  maxAgeMs?: number | null;
  /**
   * How often, at most, an age trim runs per topic when both `maxEntries` and `maxAgeMs` are set.
   * @defaultValue 1000
   */
  ageTrimEveryMs?: number;
  /**
   * How a batch of appends (those made within one event-loop turn) is stored: `'script'` = one EVALSHA of a Lua
   * script doing every XADD (least CPU in this process), `'xadd'` = one XADD per event, in MULTI/EXEC when the batch
   * has several (least CPU in Redis). Both store a batch whole or not at all.
   * @defaultValue 'script'
   */
  appendWith?: 'script' | 'xadd';
  /**
   * `deleteTopic` destroys this log's consumer groups (those named with `prefix`) but leaves the stream and its
   * entries in place, for streams the platform does not own (like Knative's external Kafka topics).
   * @defaultValue false
   */
  keepTopicOnDelete?: boolean;
  /**
   * While Redis is unreachable, how long a call (append, ensureTopic, subscribe, lag, ...) waits for the connection
   * to come back before it rejects with `BackendUnavailableError`.
   * @defaultValue 2000
   */
  unavailableTimeoutMs?: number;
  /**
   * A command on the shared connection that gets no reply within this time fails (the server hangs or the network
   * dropped silently); appends then reject with `BackendUnavailableError`.
   * @defaultValue 5000
   */
  commandTimeoutMs?: number;
  /**
   * First reconnect delay after the connection drops; doubled per failed attempt up to `reconnectMaxMs`.
   * @defaultValue 100
   */
  reconnectMinMs?: number;
  /**
   * Longest reconnect delay.
   * @defaultValue 5000
   */
  reconnectMaxMs?: number;
  /**
   * How long one `XREADGROUP ... BLOCK` waits on a subscription's connection before it is issued again. New entries
   * wake it at once, and closing a subscription unblocks it, so this only bounds how stale an idle read can get.
   * @defaultValue 5000
   */
  blockMs?: number;
  /**
   * How long an entry may sit idle in a consumer's pending list before another member takes it over, when a
   * subscription's `ackWaitMs` is longer: what this process holds is touched (XCLAIM, same consumer) while its
   * `ackWaitMs` runs, so a live handler keeps its entry for the whole ack wait, but the entries of a process that
   * died come back after this long instead of after the whole ack wait (the router's is minutes).
   * @defaultValue 5000
   */
  livenessMs?: number;
  /**
   * Ordered subscriptions: most events a subscriber reads ahead and holds behind busy partition keys. Past it, a busy
   * key holds up the others until it moves.
   * @defaultValue 1000
   */
  maxParked?: number;
  /**
   * Grace for `close()` and `Subscription.close()` when the caller gives none.
   * @defaultValue 5000
   */
  defaultGraceMs?: number;
  /**
   * Start of every consumer name; each subscription adds `:<random>:<n>` so names are unique per process and
   * subscription.
   * @defaultValue `<hostname>:<pid>`
   */
  consumerPrefix?: string;
  /**
   * Receives warnings (an entry that is not a CloudEvent, a failed background command).
   * @defaultValue warnings go to `console.warn`
   */
  logger?: RedisLogLogger;
}

export type ResolvedRedisOptions = Required<Omit<RedisEventLogOptions, 'maxEntries' | 'maxAgeMs'>> & {
  maxEntries: number | null;
  maxAgeMs: number | null;
};

const consoleLogger: RedisLogLogger = {
  warn: (details, message) => console.warn(`[redis-log] ${message}`, details),
};

export const REDIS_DEFAULTS = {
  url: 'redis://127.0.0.1:6379',
  prefix: 'es',
  maxEntries: 1_000_000,
  maxAgeMs: null,
  ageTrimEveryMs: 1000,
  appendWith: 'script',
  keepTopicOnDelete: false,
  unavailableTimeoutMs: 2000,
  commandTimeoutMs: 5000,
  reconnectMinMs: 100,
  reconnectMaxMs: 5000,
  blockMs: 5000,
  livenessMs: 5000,
  maxParked: 1000,
  defaultGraceMs: 5000,
} as const;

export function resolveOptions(options: RedisEventLogOptions): ResolvedRedisOptions {
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const resolved: ResolvedRedisOptions = {
    ...REDIS_DEFAULTS,
    consumerPrefix: `${hostname()}:${process.pid}`,
    logger: consoleLogger,
    ...defined,
  };
  if (resolved.maxEntries !== null) requireInteger('maxEntries', resolved.maxEntries, 1);
  if (resolved.maxAgeMs !== null) requireInteger('maxAgeMs', resolved.maxAgeMs, 1);
  if (resolved.appendWith !== 'script' && resolved.appendWith !== 'xadd') {
    throw new ElasticServingError('ES_ERR_BAD_REQUEST', `appendWith must be 'script' or 'xadd'`);
  }
  requireInteger('ageTrimEveryMs', resolved.ageTrimEveryMs, 1);
  requireInteger('unavailableTimeoutMs', resolved.unavailableTimeoutMs, 0);
  requireInteger('commandTimeoutMs', resolved.commandTimeoutMs, 1);
  requireInteger('reconnectMinMs', resolved.reconnectMinMs, 1);
  requireInteger('reconnectMaxMs', resolved.reconnectMaxMs, resolved.reconnectMinMs);
  requireInteger('blockMs', resolved.blockMs, 1);
  requireInteger('livenessMs', resolved.livenessMs, 100);
  requireInteger('maxParked', resolved.maxParked, 1);
  requireInteger('defaultGraceMs', resolved.defaultGraceMs, 0);
  return resolved;
}

/** Stream key of `topic`. */
export const streamKey = (prefix: string, topic: string): string => `${prefix}:stream:${topic}`;

/** Consumer group name of `group`. */
export const groupName = (prefix: string, group: string): string => `${prefix}:${group}`;
