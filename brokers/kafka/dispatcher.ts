import type { CloudEvent } from '../../services/core/cloudevent.ts';
import type { DeliveryInfo, EventHandler } from '../contract.ts';
import type { TrackedRecord } from './partition-tracker.ts';
import { FifoReadyQueue, KeyedReadyQueue, type Queued, type ReadyQueue } from './ready-queue.ts';

export interface MemberOptions {
  maxInFlight: number;
  ackWaitMs: number;
  redeliveryDelayMs: number;
}

/** One fetched event on its way through the handlers of this process. */
export interface Delivery extends Queued {
  readonly partition: number;
  readonly position: string;
  readonly event: CloudEvent;
  readonly bytes: number;
  readonly record: TrackedRecord;
  /** queued → running → done, or running → waiting (redelivery delay) → queued. */
  state: 'queued' | 'running' | 'waiting' | 'done';
  /** The partition left this consumer (or the group was reset): the outcome no longer counts. */
  stale: boolean;
  /** Bumped on each start and on expiry, so a late outcome of an earlier attempt is recognised and ignored. */
  token: number;
  member: Member | undefined;
  timer: NodeJS.Timeout | undefined;
}

/** A subscription of this process to the group. */
export class Member {
  readonly handler: EventHandler;
  readonly options: MemberOptions;
  readonly running = new Set<Delivery>();
  closing = false;
  #idle: (() => void) | undefined;

  constructor(handler: EventHandler, options: MemberOptions) {
    this.handler = handler;
    this.options = options;
  }

  get hasRoom(): boolean {
    return !this.closing && this.running.size < this.options.maxInFlight;
  }

  idle(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#idle = resolve;
    });
  }

  release(delivery: Delivery): void {
    this.running.delete(delivery);
    if (this.running.size === 0) {
      this.#idle?.();
      this.#idle = undefined;
    }
  }
}

export interface DispatcherOptions {
  ordered: boolean;
  /** Queued (not started) events before `full`. */
  maxQueuedEvents: number;
  /** Queued bytes before `full`. */
  maxQueuedBytes: number;
  /** A handler resolved: the record may be committed. */
  acked: (delivery: Delivery) => void;
  /** The `deliveryCount` to give the next delivery of `position`. */
  nextCount: (position: string) => number;
}

/**
 * Hands the events fetched for one group to the subscriptions (members) of this process: unordered, any member with
 * room takes the next event (round robin); ordered, one event per `partitionkey` at a time across all members.
 * Kafka has no per-record nack, so redelivery happens here: a rejected event is offered again after the member's
 * `redeliveryDelayMs`, an event not settled within `ackWaitMs` at once (the first handler's late outcome is then
 * ignored), each time with `deliveryCount` + 1; its record stays uncommitted meanwhile.
 */
export class Dispatcher {
  readonly ordered: boolean;
  readonly #options: DispatcherOptions;
  readonly #queue: ReadyQueue<Delivery>;
  readonly #members: Member[] = [];
  /** Running and waiting deliveries. */
  readonly #active = new Set<Delivery>();
  #next = 0;
  #queuedBytes = 0;
  #roomWaiters: (() => void)[] = [];

  constructor(options: DispatcherOptions) {
    this.ordered = options.ordered;
    this.#options = options;
    this.#queue = options.ordered ? new KeyedReadyQueue<Delivery>() : new FifoReadyQueue<Delivery>();
  }

  get memberCount(): number {
    return this.#members.length;
  }

  /** Enough is queued: fetching should wait. */
  get full(): boolean {
    return this.#queue.length >= this.#options.maxQueuedEvents || this.#queuedBytes >= this.#options.maxQueuedBytes;
  }

  /** Resolves when `full` may have become false (or `wake` was called). */
  whenRoom(): Promise<void> {
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }

  /** Releases everyone waiting for room (the consumer is stopping). */
  wake(): void {
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const wake of waiters) wake();
  }

  addMember(handler: EventHandler, options: MemberOptions): Member {
    const member = new Member(handler, options);
    this.#members.push(member);
    this.#pump();
    return member;
  }

  /**
   * Stops giving `member` events, waits up to `graceMs` for its running handlers, then offers what is still
   * unfinished to the other members (their first handler's outcome is ignored from then on).
   */
  async removeMember(member: Member, graceMs: number): Promise<void> {
    member.closing = true;
    if (member.running.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([member.idle(), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
    }
    for (const delivery of [...member.running]) {
      delivery.token++;
      this.#release(delivery);
      this.#offerAgain(delivery);
    }
    const index = this.#members.indexOf(member);
    if (index !== -1) this.#members.splice(index, 1);
    this.#pump();
  }

  push(delivery: Delivery): void {
    this.#queue.push(delivery);
    this.#queuedBytes += delivery.bytes;
    this.#pump();
  }

  /** Forgets every event of `partition` (it moved to another consumer): queued ones go, running ones no longer count. */
  dropPartition(partition: number): void {
    this.#drop((delivery) => delivery.partition === partition);
  }

  /** Forgets every event (the group is being reset or stopped). */
  dropAll(): void {
    this.#drop(() => true);
  }

  #drop(match: (delivery: Delivery) => boolean): void {
    for (const delivery of this.#queue.remove(match)) {
      this.#queuedBytes -= delivery.bytes;
      delivery.stale = true;
      delivery.state = 'done';
    }
    for (const delivery of this.#active) {
      if (!match(delivery)) continue;
      delivery.stale = true;
      if (delivery.state === 'waiting') this.#finish(delivery);
    }
    this.#pump();
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      const member = this.#pickMember();
      if (member === undefined) break;
      const delivery = this.#queue.take();
      if (delivery === undefined) break;
      this.#queuedBytes -= delivery.bytes;
      this.#start(delivery, member);
    }
    if (this.#roomWaiters.length > 0 && !this.full) this.wake();
  }

  #pickMember(): Member | undefined {
    const count = this.#members.length;
    for (let i = 0; i < count; i++) {
      const member = this.#members[(this.#next + i) % count]!;
      if (member.hasRoom) {
        this.#next = (this.#next + i + 1) % count;
        return member;
      }
    }
    return undefined;
  }

  #start(delivery: Delivery, member: Member): void {
    delivery.state = 'running';
    delivery.member = member;
    member.running.add(delivery);
    this.#active.add(delivery);
    const token = ++delivery.token;
    const info: DeliveryInfo = {
      position: delivery.position,
      deliveryCount: this.#options.nextCount(delivery.position),
    };
    // Each delivery gets its own attribute map: handlers (the router) remove attributes before forwarding.
    const source = delivery.event;
    const event: CloudEvent =
      source.data === undefined
        ? { attributes: { ...source.attributes } }
        : { attributes: { ...source.attributes }, data: source.data };
    delivery.timer = setTimeout(() => this.#expire(delivery, token), member.options.ackWaitMs);
    let outcome: Promise<void>;
    try {
      outcome = member.handler(event, info);
    } catch (err) {
      outcome = Promise.reject(err);
    }
    outcome.then(
      () => this.#settle(delivery, token, false),
      () => this.#settle(delivery, token, true),
    );
  }

  #settle(delivery: Delivery, token: number, failed: boolean): void {
    if (delivery.token !== token || delivery.state !== 'running') return;
    const delay = delivery.member?.options.redeliveryDelayMs ?? 0;
    this.#release(delivery);
    if (delivery.stale) {
      this.#finish(delivery);
    } else if (!failed) {
      this.#finish(delivery);
      this.#options.acked(delivery);
    } else {
      // The key (ordered) stays busy while waiting: later events of the key wait for this one.
      delivery.state = 'waiting';
      delivery.timer = setTimeout(() => {
        delivery.timer = undefined;
        if (delivery.state !== 'waiting') return;
        this.#offerAgain(delivery);
        this.#pump();
      }, delay);
    }
    this.#pump();
  }

  /** The ack wait ran out: offer the event again now; the running handler's outcome will be ignored. */
  #expire(delivery: Delivery, token: number): void {
    if (delivery.token !== token || delivery.state !== 'running') return;
    delivery.token++;
    this.#release(delivery);
    this.#offerAgain(delivery);
    this.#pump();
  }

  #offerAgain(delivery: Delivery): void {
    if (delivery.stale) {
      this.#finish(delivery);
      return;
    }
    delivery.state = 'queued';
    this.#active.delete(delivery);
    this.#queuedBytes += delivery.bytes;
    this.#queue.retry(delivery);
  }

  #release(delivery: Delivery): void {
    clearTimeout(delivery.timer);
    delivery.timer = undefined;
    delivery.member?.release(delivery);
    delivery.member = undefined;
  }

  #finish(delivery: Delivery): void {
    clearTimeout(delivery.timer);
    delivery.timer = undefined;
    delivery.state = 'done';
    this.#active.delete(delivery);
    this.#queue.finish(delivery);
  }
}
