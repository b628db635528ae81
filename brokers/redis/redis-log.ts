import { randomBytes } from 'node:crypto';
import type { CloudEvent } from '../../services/core/cloudevent.ts';
import { BackendUnavailableError } from '../../services/core/errors.ts';
import type { ChannelHealth, EventHandler, EventLog, ReplayFrom, SubscribeOptions, Subscription } from '../contract.ts';
import { resolveSubscribeOptions } from '../subscribe-options.ts';
import { Appender } from './appender.ts';
import { backendError, Connection, replyCode } from './connection.ts';
import type { DispatcherOptions } from './dispatcher.ts';
import {
  groupName,
  type RedisEventLogOptions,
  type ResolvedRedisOptions,
  resolveOptions,
  streamKey,
} from './options.ts';
import { scripts } from './scripts.ts';
import { replayLastId } from './stream-id.ts';
import { RedisSubscription } from './subscription.ts';

export type { RedisEventLogOptions } from './options.ts';

/**
 * The Redis Streams channel: a stream per topic, a consumer group per trigger group, a consumer per subscription
 * (see README.md for the entry format, naming, retention and durability).
 *
 * One shared, auto-pipelined connection carries appends, acks and admin commands; each subscription blocks in
 * XREADGROUP on a connection of its own. Both reconnect with capped exponential backoff; while Redis is away, calls
 * wait up to `unavailableTimeoutMs` for it and then reject with `BackendUnavailableError`.
 *
 * Semantics specific to Redis (the contract allows them):
 * - `append` resolves on the reply of the command that stored its batch (script or MULTI/EXEC, see `appendWith`):
 *   the entries are in Redis memory. Whether they survive a Redis restart depends on the server's persistence
 *   (AOF); this adapter cannot tell.
 * - Positions are entry IDs (`<ms>-<seq>`, ms = Redis clock at XADD); replay by time uses them directly.
 * - `ordered` is per subscriber: with several members in one group, events of one key may run on two of them.
 * - No dedup by `source`+`id`.
 * - A rejected or expired delivery is claimed again by the same subscriber (it holds the entry); another member
 *   takes an entry over only when its holder is gone or its ack wait passed without the holder claiming it again.
 */
export class RedisEventLog implements EventLog {
  readonly name = 'redis';
  /** Events live in Redis, not in this process. */
  readonly durable = true;
  readonly #options: ResolvedRedisOptions;
  readonly #shared: Connection;
  readonly #appender: Appender;
  readonly #subscriptions = new Set<RedisSubscription>();
  readonly #lastAgeTrim = new Map<string, number>();
  readonly #where: string;
  readonly #consumerTag = randomBytes(4).toString('hex');
  #consumers = 0;
  #closed = false;
  readonly #closedHealth: ChannelHealth = { connected: false, reason: 'closed', since: new Date() };

  constructor(options: RedisEventLogOptions = {}) {
    this.#options = resolveOptions(options);
    const url = new URL(this.#options.url);
    this.#where = `${url.hostname}:${url.port || 6379}`;
    this.#shared = new Connection(
      this.#options,
      `${this.#options.prefix}:log:${this.#options.consumerPrefix}`,
      'commands',
    );
    this.#appender = new Appender(this.#shared, this.#options, () => this.#unavailable());
  }

  health(): ChannelHealth {
    return this.#closed ? this.#closedHealth : this.#shared.health();
  }

  async ensureTopic(topic: string): Promise<void> {
    const client = await this.#connected();
    await scripts.ensureStream
      .run(client, this.#key(topic), [`${this.#options.prefix}:ensure-topic`])
      .catch(rethrow('create a topic'));
  }

  async deleteTopic(topic: string): Promise<void> {
    const client = await this.#connected();
    const key = this.#key(topic);
    this.#lastAgeTrim.delete(key);
    if (this.#options.keepTopicOnDelete) {
      await scripts.destroyGroups.run(client, key, [`${this.#options.prefix}:`]).catch(rethrow('delete groups'));
    } else {
      await client.del(key).catch(rethrow('delete a topic'));
    }
  }

  append(topic: string, events: readonly CloudEvent[]): Promise<void> {
    if (this.#closed) return Promise.reject(new BackendUnavailableError('the redis event log is closed'));
    if (events.length === 0) return Promise.resolve();
    const key = this.#key(topic);
    this.#trimByAge(key);
    return this.#appender.append(key, events);
  }

  async subscribe(
    topic: string,
    group: string,
    handler: EventHandler,
    options: SubscribeOptions = {},
  ): Promise<Subscription> {
    const subscribe = dispatcherOptions(options);
    const client = await this.#connected();
    const key = this.#key(topic);
    const name = groupName(this.#options.prefix, group);
    const start = options.from === 'beginning' ? '0' : '$';
    const replies = await client.pipeline().xgroup('CREATE', key, name, start, 'MKSTREAM').info('server').exec();
    const [[createError], [infoError, info]] = (replies ?? [[null], [null, '']]) as [
      [Error | null],
      [Error | null, string],
    ];
    if (createError !== null && replyCode(createError) !== 'BUSYGROUP')
      throw backendError(createError, 'create a group');
    if (infoError !== null) throw backendError(infoError, 'read the server info');
    if (this.#closed) throw new BackendUnavailableError('the redis event log is closed');
    const subscription = new RedisSubscription({
      options: this.#options,
      shared: this.#shared,
      key,
      group: name,
      consumer: `${this.#options.consumerPrefix}:${this.#consumerTag}:${++this.#consumers}`,
      handler,
      subscribe,
      runId: /run_id:(\w+)/.exec(info)?.[1],
      onClosed: (closed) => this.#subscriptions.delete(closed),
    });
    this.#subscriptions.add(subscription);
    subscription.start();
    return subscription;
  }

  async lag(topic: string, group: string): Promise<number> {
    const client = await this.#connected();
    const name = groupName(this.#options.prefix, group);
    return Number(await scripts.lag.run(client, this.#key(topic), [name]).catch(rethrow('read the lag')));
  }

  async replay(topic: string, group: string, from: ReplayFrom): Promise<void> {
    const last = replayLastId(from);
    const client = await this.#connected();
    const name = groupName(this.#options.prefix, group);
    await scripts.replay.run(client, this.#key(topic), [name, last]).catch(rethrow('move a group'));
  }

  async deleteGroup(topic: string, group: string): Promise<void> {
    const client = await this.#connected();
    const name = groupName(this.#options.prefix, group);
    await client.xgroup('DESTROY', this.#key(topic), name).catch((err: unknown) => {
      // The stream does not exist: neither does the group.
      if (err instanceof Error && err.message.includes('requires the key to exist')) return;
      throw backendError(err, 'delete a group');
    });
  }

  async close(graceMs?: number): Promise<void> {
    this.#closed = true;
    const grace = graceMs ?? this.#options.defaultGraceMs;
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.close(grace)));
    await this.#shared.end();
  }

  #key(topic: string): string {
    return streamKey(this.#options.prefix, topic);
  }

  /** The shared client once connected; rejects after `unavailableTimeoutMs` without a connection. */
  async #connected() {
    if (this.#closed) throw new BackendUnavailableError('the redis event log is closed');
    if (!this.#shared.ready && !(await this.#shared.whenReady(this.#options.unavailableTimeoutMs))) {
      throw this.#unavailable();
    }
    return this.#shared.client;
  }

  #unavailable(): BackendUnavailableError {
    const reason = this.#closed ? 'closed' : (this.#shared.health().reason ?? 'not connected');
    return new BackendUnavailableError(
      `redis at ${this.#where} unavailable for ${this.#options.unavailableTimeoutMs} ms: ${reason}`,
    );
  }

  /** With both retention bounds, XADD trims by count and this trims by age now and then. */
  #trimByAge(key: string): void {
    const { maxEntries, maxAgeMs, ageTrimEveryMs } = this.#options;
    if (maxEntries === null || maxAgeMs === null) return;
    const now = Date.now();
    if (now - (this.#lastAgeTrim.get(key) ?? 0) < ageTrimEveryMs) return;
    this.#lastAgeTrim.set(key, now);
    this.#shared.client.xtrim(key, 'MINID', '~', now - maxAgeMs).catch(() => undefined);
  }
}

function rethrow(what: string): (err: unknown) => never {
  return (err) => {
    throw backendError(err, what);
  };
}

function dispatcherOptions(options: SubscribeOptions): DispatcherOptions {
  const resolved = resolveSubscribeOptions(options);
  resolved.ackWaitMs = Math.ceil(resolved.ackWaitMs);
  return resolved;
}
