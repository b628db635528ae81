import type { CloudEvent } from '../../services/core/cloudevent.ts';
import { attributeString, EXT_PARTITION_KEY } from '../../services/core/cloudevent.ts';
import { ElasticServingError } from '../../services/core/errors.ts';
import type { EventHandler } from '../contract.ts';
import { Deque } from '../deque.ts';
import { KeyLanes } from '../key-lanes.ts';
import type { Entry, Topic } from './topic.ts';

/**
 * Ordered mode: most events a group sets aside behind busy keys before it stops reading ahead. Past it, a busy key
 * holds up the others (as one Kafka partition does); below it, other keys overtake a slow one.
 */
const MAX_PARKED = 10_000;

/** Subscribe options with every default applied. */
export interface MemberOptions {
  ordered: boolean;
  maxInFlight: number;
  ackWaitMs: number;
  redeliveryDelayMs: number;
}

/** One event this group has taken from the log and not acknowledged yet. */
interface Job {
  readonly entry: Entry;
  /** `partitionkey` as a string; undefined for events without one (they form a single sequence). */
  readonly key: string | undefined;
  /** Deliveries so far. */
  attempts: number;
  /** Bumped on every dispatch and cancellation, so the settlement of a superseded delivery is ignored. */
  token: number;
  member: Member | undefined;
  deadline: number;
  timer: NodeJS.Timeout | undefined;
  /** Ordered mode: this job holds its key, so later events with the same key wait in `parked`. */
  ownsKey: boolean;
}

/** One subscriber of a group. */
export class Member {
  readonly handler: EventHandler;
  readonly options: MemberOptions;
  readonly inflight = new Set<Job>();
  /** Handler calls not settled yet, superseded ones included: what close waits for. */
  running = 0;
  onIdle: (() => void) | undefined;
  expiryTimer: NodeJS.Timeout | undefined;

  constructor(handler: EventHandler, options: MemberOptions) {
    this.handler = handler;
    this.options = options;
  }

  waitIdle(graceMs: number): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, graceMs));
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.onIdle = undefined;
        resolve();
      }
      this.onIdle = done;
    });
  }
}

function partitionKey(event: CloudEvent): string | undefined {
  const value = event.attributes[EXT_PARTITION_KEY];
  return value === undefined ? undefined : attributeString(value);
}

/**
 * A consumer group on one topic: its position, the events it has taken but not acknowledged, and its members.
 *
 * Everything below `cursor` that is not held in `ready`, `delayed`, `parked` or some member's `inflight` is
 * acknowledged, so no per-event ack set is needed. Work is pumped from one `setImmediate` per burst, which lets
 * many appends coalesce and keeps a fast handler from starving I/O.
 */
export class Group {
  readonly name: string;
  readonly topic: Topic;
  /** Next sequence number to take from the log. */
  cursor: number;
  /** Events stored for this group and not acknowledged (the group's lag). */
  unacked = 0;
  ordered = false;
  deleted = false;
  /** Members taking new work, in round-robin order. */
  readonly #active: Member[] = [];
  /** Every member not fully closed, draining ones included. */
  readonly #members = new Set<Member>();
  #next = 0;
  readonly #ready = new Deque<Job>();
  readonly #lanes = new KeyLanes<Job>();
  readonly #delayed = new Set<Job>();
  #pumpScheduled = false;
  #stopped = false;

  constructor(name: string, topic: Topic) {
    this.name = name;
    this.topic = topic;
    this.cursor = topic.nextSeq;
  }

  get activeMembers(): number {
    return this.#active.length;
  }

  addMember(handler: EventHandler, options: MemberOptions): Member {
    if (this.#active.length > 0 && options.ordered !== this.ordered) {
      throw new ElasticServingError(
        'ES_ERR_CONFLICT',
        `group ${this.name} on topic ${this.topic.name} is ${this.ordered ? 'ordered' : 'unordered'}; ` +
          'close its subscriptions before subscribing with a different mode',
      );
    }
    if (options.ordered !== this.ordered) this.#switchMode(options.ordered);
    const member = new Member(handler, options);
    const every = Math.min(1000, Math.max(5, Math.floor(options.ackWaitMs / 4)));
    member.expiryTimer = setInterval(() => this.#expire(member), every);
    member.expiryTimer.unref();
    this.#active.push(member);
    this.#members.add(member);
    this.schedule();
    return member;
  }

  /** Stops giving `member` work, waits for its handlers up to `graceMs`, then hands what it held to the others. */
  async removeMember(member: Member, graceMs: number): Promise<void> {
    const index = this.#active.indexOf(member);
    if (index >= 0) this.#active.splice(index, 1);
    if (!this.#members.has(member)) return;
    await member.waitIdle(graceMs);
    clearInterval(member.expiryTimer);
    if (!this.#members.delete(member)) return;
    for (const job of member.inflight) {
      job.token++;
      job.member = undefined;
      this.#ready.push(job);
    }
    member.inflight.clear();
    this.schedule();
  }

  /** `count` events were stored for this group. */
  appended(count: number): void {
    this.unacked += count;
    this.schedule();
  }

  /** No more dispatching (log closing); settlements of running handlers are still recorded. */
  stop(): void {
    this.#stopped = true;
  }

  schedule(): void {
    if (this.#pumpScheduled || this.#active.length === 0 || this.deleted || this.#stopped) return;
    this.#pumpScheduled = true;
    setImmediate(this.#pump);
  }

  #pump = (): void => {
    this.#pumpScheduled = false;
    if (this.deleted || this.#stopped) return;
    for (;;) {
      const member = this.#pickMember();
      if (member === undefined) return;
      const job = this.#ready.shift() ?? this.#take();
      if (job === undefined) return;
      this.#dispatch(member, job);
    }
  };

  #pickMember(): Member | undefined {
    const members = this.#active;
    const n = members.length;
    for (let i = 0; i < n; i++) {
      const at = (this.#next + i) % n;
      const member = members[at]!;
      if (member.inflight.size < member.options.maxInFlight) {
        this.#next = (at + 1) % n;
        return member;
      }
    }
    return undefined;
  }

  /** Takes the next event from the log; in ordered mode, parks events whose key is held. */
  #take(): Job | undefined {
    const topic = this.topic;
    if (this.cursor < topic.firstSeq) this.cursor = topic.firstSeq;
    while (this.cursor < topic.nextSeq && this.#lanes.waiting < MAX_PARKED) {
      const entry = topic.get(this.cursor++)!;
      // A freed entry here predates this group (it joined from 'beginning' or replayed past it).
      if (entry.event === undefined) continue;
      const job: Job = {
        entry,
        key: partitionKey(entry.event),
        attempts: 0,
        token: 0,
        member: undefined,
        deadline: 0,
        timer: undefined,
        ownsKey: false,
      };
      if (!this.ordered) return job;
      if (this.#lanes.admit(job.key, job)) {
        job.ownsKey = true;
        return job;
      }
    }
    return undefined;
  }

  #dispatch(member: Member, job: Job): void {
    const token = ++job.token;
    job.attempts++;
    job.member = member;
    job.deadline = Date.now() + member.options.ackWaitMs;
    member.inflight.add(job);
    member.running++;
    const stored = job.entry.event!;
    // Each delivery gets its own attribute map: handlers (the router strips knativebrokerttl) may edit it.
    const event: CloudEvent =
      stored.data === undefined
        ? { attributes: { ...stored.attributes } }
        : { attributes: { ...stored.attributes }, data: stored.data };
    let result: Promise<void>;
    try {
      result = Promise.resolve(member.handler(event, { position: String(job.entry.seq), deliveryCount: job.attempts }));
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      () => this.#settle(member, job, token, true),
      () => this.#settle(member, job, token, false),
    );
  }

  #settle(member: Member, job: Job, token: number, ok: boolean): void {
    if (--member.running === 0) member.onIdle?.();
    if (job.token !== token || job.member !== member || this.deleted) return;
    member.inflight.delete(job);
    job.member = undefined;
    if (ok) {
      this.unacked--;
      if (job.ownsKey) this.#releaseKey(job);
      this.topic.release(job.entry);
    } else {
      this.#retryLater(job, member.options.redeliveryDelayMs);
    }
    this.schedule();
  }

  #releaseKey(job: Job): void {
    job.ownsKey = false;
    const next = this.#lanes.release(job.key);
    if (next === undefined) return;
    next.ownsKey = true;
    this.#ready.push(next);
  }

  #retryLater(job: Job, delayMs: number): void {
    if (delayMs <= 0) {
      this.#ready.push(job);
      return;
    }
    this.#delayed.add(job);
    job.timer = setTimeout(() => {
      job.timer = undefined;
      this.#delayed.delete(job);
      this.#ready.push(job);
      this.schedule();
    }, delayMs);
    job.timer.unref();
  }

  #expire(member: Member): void {
    if (member.inflight.size === 0) return;
    const now = Date.now();
    let expired = false;
    for (const job of member.inflight) {
      if (job.deadline > now) continue;
      member.inflight.delete(job);
      job.token++;
      job.member = undefined;
      this.#ready.push(job);
      expired = true;
    }
    if (expired) this.schedule();
  }

  /** Every job taken from the log and not acknowledged. */
  #outstanding(): Job[] {
    const jobs: Job[] = [...this.#ready, ...this.#delayed];
    jobs.push(...this.#lanes.waitingItems());
    for (const member of this.#members) jobs.push(...member.inflight);
    return jobs;
  }

  /** Forgets every outstanding job; running handlers keep running but their outcome is ignored. */
  #cancelAll(): void {
    for (const job of this.#delayed) clearTimeout(job.timer);
    for (const member of this.#members) {
      for (const job of member.inflight) job.token++;
      member.inflight.clear();
    }
    this.#delayed.clear();
    this.#ready.clear();
    this.#lanes.clear();
  }

  #switchMode(ordered: boolean): void {
    this.ordered = ordered;
    const parked = this.#lanes.waitingItems();
    this.#lanes.clear();
    if (!ordered) {
      for (const job of parked) this.#ready.push(job);
      for (const job of this.#outstanding()) job.ownsKey = false;
      return;
    }
    // Events taken while unordered already hold their keys; more than one per key cannot be put back in order.
    for (const job of this.#outstanding()) {
      job.ownsKey = true;
      this.#lanes.hold(job.key);
    }
  }

  /** Restarts delivery at `target` (clamped to what the topic retains), fixing reference counts both ways. */
  replay(target: number): void {
    const topic = this.topic;
    const seq = Math.min(Math.max(target, topic.firstSeq), topic.nextSeq);
    const outstanding = new Set<number>();
    for (const job of this.#outstanding()) outstanding.add(job.entry.seq);
    this.#cancelAll();
    const done: Entry[] = [];
    let unacked = 0;
    for (let s = topic.firstSeq; s < topic.nextSeq; s++) {
      const entry = topic.get(s)!;
      if (entry.event === undefined) continue;
      const wasPending = s >= this.cursor || outstanding.has(s);
      const willBePending = s >= seq;
      if (willBePending) unacked++;
      if (willBePending && !wasPending) entry.pending++;
      else if (wasPending && !willBePending) done.push(entry);
    }
    this.cursor = seq;
    this.unacked = unacked;
    // Released after the walk: freeing can trim the topic under the loop.
    for (const entry of done) topic.release(entry);
    this.schedule();
  }

  /** Removes the group: its members get no more work and every event it held is released. */
  delete(): void {
    if (this.deleted) return;
    const topic = this.topic;
    const held: Entry[] = this.#outstanding().map((job) => job.entry);
    for (let s = Math.max(this.cursor, topic.firstSeq); s < topic.nextSeq; s++) {
      const entry = topic.get(s)!;
      if (entry.event !== undefined) held.push(entry);
    }
    this.#cancelAll();
    this.deleted = true;
    this.unacked = 0;
    this.#active.length = 0;
    for (const member of this.#members) clearInterval(member.expiryTimer);
    this.#members.clear();
    for (const entry of held) topic.release(entry);
  }
}
