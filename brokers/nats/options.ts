import type { ConnectionOptions } from 'nats';
import { ElasticServingError } from '../../services/core/errors.ts';

/** Where an adapter reports what it cannot hand to a caller (poison messages, background failures); pino fits. */
export interface NatsLogger {
  warn(details: Record<string, unknown>, message: string): void;
}

/** Options of the NATS JetStream channel. */
export interface NatsEventLogOptions {
  /**
   * NATS server URL(s); several are tried in turn (a cluster's seed list).
   * @defaultValue 'nats://127.0.0.1:4222'
   */
  servers?: string | readonly string[];
  /**
   * Extra nats.js connection options (credentials, TLS, …). Reconnect behaviour is the adapter's and is not
   * taken from here.
   * @defaultValue {}
   */
  connection?: Omit<ConnectionOptions, 'servers' | 'maxReconnectAttempts' | 'reconnectDelayHandler'>;
  /**
   * Prefix of every name this channel uses on the server, so several installations (or test runs) share one
   * server: a topic `ns.broker` becomes stream `<prefix>_<escaped topic>` with the single subject
   * `<prefix>.events.<escaped topic>` (where plain NATS clients may publish too), and a group `g` the durable
   * consumer `<prefix>_<escaped g>`. Escaping keeps `A-Z a-z 0-9 -` and writes every other UTF-8 byte as `_XX`
   * (upper-case hex), so `.` becomes `_2E`; names longer than 200 characters are cut and end with a hash.
   * Only `A-Z a-z 0-9 _ -` are allowed here.
   * @defaultValue 'es'
   */
  prefix?: string;
  /**
   * Retention by age (stream `max_age`); 0 keeps events until a size bound drops them.
   * @defaultValue 86_400_000 (24 h)
   */
  maxAgeMs?: number;
  /**
   * Retention by size (stream `max_bytes`); -1 for no bound. A bound is reserved against the server's JetStream
   * storage when the stream is created, so many bounded streams can exhaust it.
   * @defaultValue -1
   */
  maxBytes?: number;
  /**
   * Retention by count (stream `max_msgs`); -1 for no bound.
   * @defaultValue -1
   */
  maxMessages?: number;
  /**
   * Largest stored message, headers included (stream `max_msg_size`); -1 leaves it to the server's `max_payload`
   * (1 MiB unless configured), which is what really limits an event.
   * @defaultValue -1
   */
  maxMessageBytes?: number;
  /**
   * What a full stream does: `'old'` drops its oldest events, `'new'` refuses appends (`BackendFullError`).
   * @defaultValue 'old'
   */
  discard?: 'old' | 'new';
  /**
   * Dedup window (stream `duplicate_window`): an event whose `source`+`id` was stored within it is dropped, by the
   * `Nats-Msg-Id` header. 0 turns dedup off (no header is sent); otherwise at least 100, and cut to `maxAgeMs`.
   * @defaultValue 120_000
   */
  duplicateWindowMs?: number;
  /**
   * Stream replicas (clustered JetStream only).
   * @defaultValue 1
   */
  replicas?: number;
  /**
   * When true, `deleteTopic` deletes this channel's consumers on the stream but leaves the stream and its events
   * in place (an externally owned stream, like Knative's external Kafka topics).
   * @defaultValue false
   */
  keepTopicOnDelete?: boolean;
  /**
   * How long an operation waits for a lost or not yet established connection before it rejects with
   * `BackendUnavailableError`.
   * @defaultValue 2000
   */
  unavailableTimeoutMs?: number;
  /**
   * Timeout of a JetStream API call or publish acknowledgement while connected.
   * @defaultValue 5000
   */
  requestTimeoutMs?: number;
  /**
   * First delay between reconnect attempts; the delay grows with the time spent disconnected.
   * @defaultValue 100
   */
  reconnectMinDelayMs?: number;
  /**
   * Cap of the delay between reconnect attempts.
   * @defaultValue 5000
   */
  reconnectMaxDelayMs?: number;
  /**
   * Consumer `max_ack_pending`: events a group may have delivered and unacknowledged across all its members.
   * @defaultValue 10_000
   */
  maxAckPending?: number;
  /**
   * Ordered subscriptions: events a subscriber may set aside behind busy partition keys (beyond `maxInFlight`
   * running), so other keys overtake a slow one; past it a busy key holds the subscriber up.
   * @defaultValue 1000
   */
  orderedReadAhead?: number;
  /**
   * Lifetime of one pull request; an idle subscriber renews it this often.
   * @defaultValue 30_000
   */
  pullExpiresMs?: number;
  /**
   * Idle heartbeat asked of the server for each pull request; a subscriber that hears nothing for three of them
   * renews its pull (a request lost with a server restart).
   * @defaultValue 5000
   */
  heartbeatMs?: number;
  /**
   * The consumer's server-side ack wait when a subscription's `ackWaitMs` is longer: events this process holds are
   * kept alive with `+WPI` while their `ackWaitMs` runs, so a live handler keeps its event for the whole ack wait,
   * but the events of a process that died come back after this long instead of after the whole ack wait (the
   * router's is minutes).
   * @defaultValue 5000
   */
  livenessMs?: number;
  /**
   * Grace for `close()` and `Subscription.close()` when the caller gives none.
   * @defaultValue 5000
   */
  defaultGraceMs?: number;
  /**
   * Receives warnings (undecodable messages, failed acknowledgements).
   * @defaultValue a logger that drops everything
   */
  logger?: NatsLogger;
}

export type ResolvedNatsOptions = Required<Omit<NatsEventLogOptions, 'servers'>> & { servers: string[] };

export const NATS_DEFAULTS = {
  prefix: 'es',
  maxAgeMs: 86_400_000,
  maxBytes: -1,
  maxMessages: -1,
  maxMessageBytes: -1,
  discard: 'old',
  duplicateWindowMs: 120_000,
  replicas: 1,
  keepTopicOnDelete: false,
  unavailableTimeoutMs: 2000,
  requestTimeoutMs: 5000,
  reconnectMinDelayMs: 100,
  reconnectMaxDelayMs: 5000,
  maxAckPending: 10_000,
  orderedReadAhead: 1000,
  pullExpiresMs: 30_000,
  heartbeatMs: 5000,
  livenessMs: 5000,
  defaultGraceMs: 5000,
} as const;

const PREFIX = /^[A-Za-z0-9_-]+$/;
const quiet: NatsLogger = { warn: () => undefined };

/** Applies defaults and checks every option; throws `ES_ERR_BAD_REQUEST` naming the first bad one. */
export function resolveNatsOptions(options: NatsEventLogOptions): ResolvedNatsOptions {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const servers = options.servers ?? 'nats://127.0.0.1:4222';
  const resolved: ResolvedNatsOptions = {
    ...NATS_DEFAULTS,
    connection: {},
    logger: quiet,
    ...given,
    servers: typeof servers === 'string' ? [servers] : [...servers],
  };
  if (resolved.servers.length === 0) bad('servers must name at least one server');
  if (!PREFIX.test(resolved.prefix)) bad(`prefix must be one or more of A-Z a-z 0-9 _ - (got "${resolved.prefix}")`);
  if (resolved.discard !== 'old' && resolved.discard !== 'new') bad(`discard must be 'old' or 'new'`);
  integer('maxAgeMs', resolved.maxAgeMs, 0);
  integer('maxBytes', resolved.maxBytes, -1);
  integer('maxMessages', resolved.maxMessages, -1);
  integer('maxMessageBytes', resolved.maxMessageBytes, -1);
  integer('duplicateWindowMs', resolved.duplicateWindowMs, 0);
  if (resolved.duplicateWindowMs > 0 && resolved.duplicateWindowMs < 100) bad('duplicateWindowMs must be 0 or >= 100');
  if (resolved.maxAgeMs > 0 && resolved.maxAgeMs < 100) bad('maxAgeMs must be 0 or >= 100');
  integer('replicas', resolved.replicas, 1);
  integer('unavailableTimeoutMs', resolved.unavailableTimeoutMs, 1);
  integer('requestTimeoutMs', resolved.requestTimeoutMs, 1);
  integer('reconnectMinDelayMs', resolved.reconnectMinDelayMs, 1);
  integer('reconnectMaxDelayMs', resolved.reconnectMaxDelayMs, resolved.reconnectMinDelayMs);
  integer('maxAckPending', resolved.maxAckPending, 1);
  integer('orderedReadAhead', resolved.orderedReadAhead, 0);
  integer('heartbeatMs', resolved.heartbeatMs, 100);
  integer('pullExpiresMs', resolved.pullExpiresMs, resolved.heartbeatMs * 2);
  integer('livenessMs', resolved.livenessMs, 100);
  integer('defaultGraceMs', resolved.defaultGraceMs, 0);
  return resolved;
}

function integer(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) bad(`${name} must be an integer >= ${min}, got ${value}`);
}

function bad(message: string): never {
  throw new ElasticServingError('ES_ERR_BAD_REQUEST', `nats channel: ${message}`);
}
