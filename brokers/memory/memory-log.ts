import type { CloudEvent } from '../../services/core/cloudevent.ts';
import { BackendFullError, BackendUnavailableError, ElasticServingError } from '../../services/core/errors.ts';
import type {
  ChannelHealth,
  EventHandler,
  EventLog,
  EventLogStats,
  ReplayFrom,
  SubscribeOptions,
  Subscription,
} from '../contract.ts';
import { requireInteger, resolveSubscribeOptions } from '../subscribe-options.ts';
import { Group } from './group.ts';
import { Topic, type Usage } from './topic.ts';

/** Options of the in-memory channel. */
export interface MemoryEventLogOptions {
  /**
   * Most events held at once across every topic of the log. An event is held from append until every group on its
   * topic has acknowledged it; an append that would go over is refused whole with `BackendFullError`.
   * @defaultValue 100_000
   */
  maxEvents?: number;
  /**
   * Most bytes held at once across every topic, counting `data` plus each attribute's name and value (string form).
   * An append that would go over is refused whole with `BackendFullError`.
   * @defaultValue 268_435_456 (256 MiB)
   */
  maxBytes?: number;
  /**
   * Back-pressure: while this many events are held, an append first waits (up to `highWaterWaitMs`) for consumers
   * to catch up, so a producer faster than its triggers is paced instead of filling memory and starving delivery
   * of CPU. After the wait the append goes ahead within `maxEvents`/`maxBytes`. Topics without groups never wait.
   * @defaultValue 5_000
   */
  highWaterEvents?: number;
  /**
   * Longest an append waits at the high-water mark.
   * @defaultValue 1000
   */
  highWaterWaitMs?: number;
  /**
   * How many recent `source`+`id` pairs each topic remembers; an appended event matching one is dropped as a
   * duplicate (and the append still succeeds). 0 turns dedup off.
   * @defaultValue 10_000
   */
  dedupWindow?: number;
  /**
   * Grace for `close()` and `Subscription.close()` when the caller gives none.
   * @defaultValue 5000
   */
  defaultGraceMs?: number;
}

export const MEMORY_DEFAULTS = {
  maxEvents: 100_000,
  maxBytes: 256 * 1024 * 1024,
  highWaterEvents: 5_000,
  highWaterWaitMs: 1000,
  dedupWindow: 10_000,
  defaultGraceMs: 5000,
} as const satisfies Required<MemoryEventLogOptions>;

interface TopicState {
  topic: Topic;
  groups: Map<string, Group>;
}

/**
 * The embedded, in-process channel: the default for `npm start` and tests. Not durable — everything is lost when
 * the process exits.
 *
 * Semantics specific to memory (the contract allows them):
 * - Retention is by interest: an event is kept until every group on its topic has acknowledged it, then freed.
 *   An event appended to a topic with no group is not kept at all (as a Knative broker without triggers drops
 *   it), so a group created later from `'beginning'` sees only events some other group still holds.
 * - `replay` can only reach events still retained (held by some group); positions before that are clamped to
 *   the oldest retained event. `deliveryCount` restarts at 1 for events delivered again by a replay.
 * - Dedup by `source`+`id` within a bounded per-topic window (`dedupWindow`).
 * - Positions are decimal strings of a per-topic sequence number starting at 1.
 * - Each delivery gets its own copy of the attribute map; `data` bytes are shared and must not be mutated.
 * - A group's mode (`ordered`) is that of its subscriptions; subscribing with the other mode while the group has
 *   open subscriptions fails with `ES_ERR_CONFLICT`.
 * - A delivery whose `ackWaitMs` expired is offered again (to any member) and the first handler's later outcome is
 *   ignored; its subscriber's in-flight slot is freed at expiry.
 */
export class MemoryEventLog implements EventLog {
  readonly name = 'memory';
  readonly durable = false;
  private readonly connectedSince: ChannelHealth = { connected: true, since: new Date() };
  readonly #options: Required<MemoryEventLogOptions>;
  readonly #usage: Usage = { events: 0, bytes: 0, onFreed: () => this.#wakeProducers() };
  readonly #topics = new Map<string, TopicState>();
  readonly #subscriptions = new Set<Subscription>();
  #closed = false;

  constructor(options: MemoryEventLogOptions = {}) {
    const resolved = { ...MEMORY_DEFAULTS, ...stripUndefined(options) };
    requireInteger('maxEvents', resolved.maxEvents, 1);
    requireInteger('maxBytes', resolved.maxBytes, 1);
    requireInteger('dedupWindow', resolved.dedupWindow, 0);
    requireInteger('defaultGraceMs', resolved.defaultGraceMs, 0);
    requireInteger('highWaterEvents', resolved.highWaterEvents, 1);
    requireInteger('highWaterWaitMs', resolved.highWaterWaitMs, 0);
    this.#options = resolved;
  }

  /** Events and bytes currently held across every topic (what the bounds apply to). */
  stats(): EventLogStats {
    return { events: this.#usage.events, bytes: this.#usage.bytes };
  }

  async ensureTopic(topic: string): Promise<void> {
    this.#open();
    this.#state(topic);
  }

  async deleteTopic(topic: string): Promise<void> {
    const state = this.#topics.get(topic);
    if (state === undefined) return;
    for (const group of state.groups.values()) group.delete();
    state.groups.clear();
    state.topic.clear();
    this.#topics.delete(topic);
  }

  async append(topic: string, events: readonly CloudEvent[]): Promise<void> {
    this.#open();
    const { topic: store, groups } = this.#state(topic);
    let accepted: readonly CloudEvent[] = events;
    let keys: string[] | undefined;
    if (store.dedupEnabled) {
      const fresh: CloudEvent[] = [];
      keys = [];
      const inBatch = events.length > 1 ? new Set<string>() : undefined;
      for (const event of events) {
        const key = `${event.attributes.source}\n${event.attributes.id}`;
        if (store.isDuplicate(key) || inBatch?.has(key)) continue;
        inBatch?.add(key);
        fresh.push(event);
        keys.push(key);
      }
      accepted = fresh;
    }
    if (accepted.length === 0) return;
    if (groups.size > 0 && this.#usage.events >= this.#options.highWaterEvents) await this.#belowHighWater();
    if (groups.size > 0) {
      const sizes = accepted.map(eventBytes);
      this.#checkBounds(topic, accepted.length, sizes);
      for (let i = 0; i < accepted.length; i++) {
        const event = accepted[i]!;
        const copy: CloudEvent =
          event.data === undefined
            ? { attributes: { ...event.attributes } }
            : { attributes: { ...event.attributes }, data: event.data };
        store.push(copy, sizes[i]!, groups.size);
      }
      for (const group of groups.values()) group.appended(accepted.length);
    }
    if (keys !== undefined) for (const key of keys) store.remember(key);
  }

  async subscribe(
    topic: string,
    group: string,
    handler: EventHandler,
    options: SubscribeOptions = {},
  ): Promise<Subscription> {
    this.#open();
    const memberOptions = resolveSubscribeOptions(options);
    const state = this.#state(topic);
    let target = state.groups.get(group);
    if (target === undefined) {
      target = new Group(group, state.topic);
      state.groups.set(group, target);
      if (options.from === 'beginning') target.replay(state.topic.firstSeq);
    }
    const owner = target;
    const member = owner.addMember(handler, memberOptions);
    let closing: Promise<void> | undefined;
    const subscription: Subscription = {
      close: (graceMs) => {
        closing ??= owner.removeMember(member, graceMs ?? this.#options.defaultGraceMs).finally(() => {
          this.#subscriptions.delete(subscription);
        });
        return closing;
      },
    };
    this.#subscriptions.add(subscription);
    return subscription;
  }

  async lag(topic: string, group: string): Promise<number> {
    return this.#topics.get(topic)?.groups.get(group)?.unacked ?? 0;
  }

  async replay(topic: string, group: string, from: ReplayFrom): Promise<void> {
    this.#open();
    const state = this.#state(topic);
    let target = state.groups.get(group);
    if (target === undefined) {
      target = new Group(group, state.topic);
      state.groups.set(group, target);
    }
    target.replay(resolveReplay(state.topic, from));
  }

  async deleteGroup(topic: string, group: string): Promise<void> {
    const state = this.#topics.get(topic);
    const target = state?.groups.get(group);
    if (state === undefined || target === undefined) return;
    target.delete();
    state.groups.delete(group);
  }

  /** In-process: always reachable. */
  health(): ChannelHealth {
    return this.connectedSince;
  }

  async close(graceMs?: number): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      for (const state of this.#topics.values()) for (const group of state.groups.values()) group.stop();
    }
    const grace = graceMs ?? this.#options.defaultGraceMs;
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.close(grace)));
  }

  #open(): void {
    if (this.#closed) throw new BackendUnavailableError('the memory event log is closed');
  }

  #state(topic: string): TopicState {
    let state = this.#topics.get(topic);
    if (state === undefined) {
      state = { topic: new Topic(topic, this.#usage, this.#options.dedupWindow), groups: new Map() };
      this.#topics.set(topic, state);
    }
    return state;
  }

  #highWaterWaiters: (() => void)[] = [];

  /** Resolves once held events drop below the high-water mark, or after `highWaterWaitMs`. */
  #belowHighWater(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.#options.highWaterWaitMs);
      const waiters = this.#highWaterWaiters;
      function done() {
        clearTimeout(timer);
        const i = waiters.indexOf(done);
        if (i !== -1) waiters.splice(i, 1);
        resolve();
      }
      waiters.push(done);
    });
  }

  #wakeProducers = (): void => {
    if (this.#highWaterWaiters.length === 0 || this.#usage.events >= this.#options.highWaterEvents) return;
    // Wake as many as there is room for, oldest first.
    const room = this.#options.highWaterEvents - this.#usage.events;
    for (const wake of this.#highWaterWaiters.slice(0, room)) wake();
  };

  #checkBounds(topic: string, count: number, sizes: readonly number[]): void {
    const { maxEvents, maxBytes } = this.#options;
    if (this.#usage.events + count > maxEvents) {
      throw new BackendFullError(
        `memory channel full: maxEvents=${maxEvents} reached (${this.#usage.events} held, ` +
          `${count} more refused for topic ${topic})`,
      );
    }
    let bytes = 0;
    for (const size of sizes) bytes += size;
    if (this.#usage.bytes + bytes > maxBytes) {
      throw new BackendFullError(
        `memory channel full: maxBytes=${maxBytes} reached (${this.#usage.bytes} held, ` +
          `${bytes} more refused for topic ${topic})`,
      );
    }
  }
}

/** Size counted against `maxBytes`: data plus attribute names and values (UTF-16 length, close enough). */
function eventBytes(event: CloudEvent): number {
  let bytes = event.data === undefined ? 0 : event.data.length;
  const attributes = event.attributes;
  for (const name in attributes) {
    const value = attributes[name];
    if (value === undefined) continue;
    bytes += name.length + (typeof value === 'string' ? value.length : String(value).length);
  }
  return bytes;
}

function resolveReplay(topic: Topic, from: ReplayFrom): number {
  if (from === 'beginning') return topic.firstSeq;
  if ('position' in from) {
    if (!/^\d{1,15}$/.test(from.position)) {
      throw new ElasticServingError('ES_ERR_BAD_REQUEST', `invalid memory log position "${from.position}"`);
    }
    return Number(from.position);
  }
  const time = from.time.getTime();
  if (Number.isNaN(time)) throw new ElasticServingError('ES_ERR_BAD_REQUEST', 'invalid replay time');
  return topic.seqAtOrAfter(time);
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
