import type { CloudEvent } from '../../services/core/cloudevent.ts';
import { attributeString, EXT_PARTITION_KEY } from '../../services/core/cloudevent.ts';
import type { EventHandler } from '../contract.ts';
import { KeyLanes } from '../key-lanes.ts';

/**
 * Where an entry this subscriber holds (it is in this consumer's pending list) stands locally:
 * - parked: ordered mode, waiting behind an earlier event with the same partition key;
 * - ready: waiting for an in-flight slot;
 * - running: its handler runs (until `deadline`, the ack wait);
 * - delayed: its handler rejected, waiting `redeliveryDelayMs`;
 * - claiming: being claimed again on the server before a redelivery (after a rejection or an expired ack wait);
 * - acking: its handler resolved, XACK not confirmed yet.
 */
export type JobState = 'parked' | 'ready' | 'running' | 'delayed' | 'claiming' | 'acking';

export interface Job {
  readonly id: string;
  readonly event: CloudEvent;
  /** `partitionkey` as a string; undefined for events without one (they form a single sequence). */
  readonly key: string | undefined;
  /** The server's delivery counter for the next (or current) handler call. */
  deliveries: number;
  state: JobState;
  /** Bumped whenever a handler call is superseded, so its late outcome is ignored. */
  token: number;
  /** Running: when the ack wait expires. */
  deadline: number;
  /** When the server last reset this entry's idle time for this consumer (read, claim or touch). */
  heldSince: number;
  /** Ordered mode: this job holds its key, so later events with the same key are parked. */
  ownsKey: boolean;
  timer: NodeJS.Timeout | undefined;
}

export interface DispatcherOptions {
  ordered: boolean;
  maxInFlight: number;
  ackWaitMs: number;
  redeliveryDelayMs: number;
}

/** The I/O a dispatcher asks for; results come back through `retried`, `acked` and `drop`. */
export interface DispatcherHooks {
  /** Acknowledge `job` on the server (its handler resolved). */
  ack(job: Job): void;
  /** Claim these jobs again (delivery counter + 1) before they are offered again. */
  reclaim(jobs: Job[]): void;
  /** Something freed room for more work (the reader may read again). */
  room(): void;
}

/**
 * Local scheduling of the entries one subscription holds: in-flight bound, ordered keys, redelivery delay and ack
 * wait. No I/O here: the subscription feeds it entries and carries out its hooks.
 */
export class Dispatcher {
  readonly jobs = new Map<string, Job>();
  readonly #options: DispatcherOptions;
  readonly #handler: EventHandler;
  readonly #hooks: DispatcherHooks;
  #ready: Job[] = [];
  readonly #lanes = new KeyLanes<Job>();
  #running = 0;
  #claiming = 0;
  /** Handler calls not settled yet, superseded ones included: what close waits for. */
  #calls = 0;
  #onIdle: (() => void) | undefined;
  #stopped = false;

  constructor(options: DispatcherOptions, handler: EventHandler, hooks: DispatcherHooks) {
    this.#options = options;
    this.#handler = handler;
    this.#hooks = hooks;
  }

  /** How many more entries the reader may take now. */
  get room(): number {
    return this.#options.maxInFlight - this.#running - this.#ready.length - this.#claiming;
  }

  get parkedCount(): number {
    return this.#lanes.waiting;
  }

  /** Takes a newly read (or claimed) entry. */
  offer(id: string, event: CloudEvent, deliveries: number): void {
    const value = event.attributes[EXT_PARTITION_KEY];
    const job: Job = {
      id,
      event,
      key: value === undefined ? undefined : attributeString(value),
      deliveries,
      state: 'ready',
      token: 0,
      deadline: 0,
      heldSince: Date.now(),
      ownsKey: false,
      timer: undefined,
    };
    this.jobs.set(id, job);
    if (this.#options.ordered) {
      if (!this.#lanes.admit(job.key, job)) {
        job.state = 'parked';
        return;
      }
      job.ownsKey = true;
    }
    this.#ready.push(job);
    this.pump();
  }

  /**
   * The server handed `job`'s entry to this consumer again (XAUTOCLAIM found it idle past the ack wait): whatever
   * was under way locally is superseded and it is offered again with the new delivery count.
   */
  reclaimed(job: Job, deliveries: number): void {
    job.deliveries = deliveries;
    job.heldSince = Date.now();
    switch (job.state) {
      case 'running':
        job.token++;
        this.#running--;
        break;
      case 'delayed':
        clearTimeout(job.timer);
        job.timer = undefined;
        break;
      case 'claiming':
        this.#claiming--;
        break;
      default:
        // parked or ready: it keeps its place; acking: the handler already succeeded.
        return;
    }
    this.#makeReady(job);
  }

  /**
   * Result of `hooks.reclaim` started when `job.token` was `token`: the new delivery count, or undefined when the
   * entry is no longer this consumer's (acknowledged, claimed by another member, or trimmed).
   */
  retried(job: Job, token: number, deliveries: number | undefined): void {
    if (job.state !== 'claiming' || job.token !== token || this.jobs.get(job.id) !== job) return;
    this.#claiming--;
    if (deliveries === undefined) {
      this.drop(job);
      return;
    }
    job.deliveries = deliveries;
    job.heldSince = Date.now();
    this.#makeReady(job);
  }

  /** XACK confirmed for these IDs. */
  acked(ids: readonly string[]): void {
    for (const id of ids) {
      const job = this.jobs.get(id);
      if (job?.state === 'acking') this.jobs.delete(id);
    }
  }

  /** Forgets `job` (no longer in this consumer's pending list), letting its key move on. */
  drop(job: Job): void {
    if (this.jobs.get(job.id) !== job) return;
    this.jobs.delete(job.id);
    switch (job.state) {
      case 'running':
        job.token++;
        this.#running--;
        break;
      case 'claiming':
        this.#claiming--;
        break;
      case 'delayed':
        clearTimeout(job.timer);
        break;
      case 'ready':
        this.#ready = this.#ready.filter((j) => j !== job);
        break;
      case 'parked':
        this.#lanes.remove((j) => j === job);
        break;
      default:
        break;
    }
    if (job.ownsKey) this.#releaseKey(job);
    this.pump();
    this.#hooks.room();
  }

  /** Running jobs past their ack wait: superseded and claimed again (the slot is freed at once). */
  expire(now: number): void {
    const expired: Job[] = [];
    for (const job of this.jobs.values()) {
      if (job.state !== 'running' || job.deadline > now) continue;
      job.token++;
      this.#running--;
      job.state = 'claiming';
      this.#claiming++;
      expired.push(job);
    }
    if (expired.length > 0) this.#hooks.reclaim(expired);
  }

  /** Jobs waiting in this subscriber (not running) whose idle time on the server is older than `ageMs`. */
  /**
   * Jobs whose entries must be touched so the server does not find them idle for `idleMs`: those waiting here
   * (parked, ready, delayed) and running ones whose deadline is later than the server's idle limit would allow.
   */
  toKeepAlive(now: number, ageMs: number, idleMs: number): Job[] {
    const out: Job[] = [];
    for (const job of this.jobs.values()) {
      if (now - job.heldSince < ageMs) continue;
      const waiting = job.state === 'parked' || job.state === 'ready' || job.state === 'delayed';
      if (waiting || (job.state === 'running' && job.heldSince + idleMs < job.deadline)) out.push(job);
    }
    return out;
  }

  /** Starts handlers while there are slots. */
  pump(): void {
    while (!this.#stopped && this.#running < this.#options.maxInFlight && this.#ready.length > 0) {
      this.#start(this.#ready.shift()!);
    }
  }

  /** No more handler starts (closing); settlements of running handlers are still recorded. */
  stop(): void {
    this.#stopped = true;
  }

  /** Waits for running handler calls to settle, at most `graceMs`. */
  waitIdle(graceMs: number): Promise<void> {
    if (this.#calls === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, graceMs));
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.#onIdle = undefined;
        resolve();
      }
      this.#onIdle = done;
    });
  }

  /** Every job not acknowledged yet, forgotten (late handler outcomes are ignored). Returns their IDs. */
  abandonUnfinished(): string[] {
    const ids: string[] = [];
    for (const job of this.jobs.values()) {
      if (job.state === 'acking') continue;
      job.token++;
      clearTimeout(job.timer);
      ids.push(job.id);
      this.jobs.delete(job.id);
    }
    this.#ready = [];
    this.#lanes.clear();
    this.#running = 0;
    this.#claiming = 0;
    return ids;
  }

  #makeReady(job: Job): void {
    job.state = 'ready';
    this.#ready.push(job);
    this.pump();
  }

  #start(job: Job): void {
    const token = ++job.token;
    job.state = 'running';
    job.deadline = Date.now() + this.#options.ackWaitMs;
    this.#running++;
    this.#calls++;
    const stored = job.event;
    // Each call gets its own attribute map: handlers may edit it (the router strips knativebrokerttl).
    const event: CloudEvent =
      stored.data === undefined
        ? { attributes: { ...stored.attributes } }
        : { attributes: { ...stored.attributes }, data: stored.data };
    let result: Promise<void>;
    try {
      result = Promise.resolve(this.#handler(event, { position: job.id, deliveryCount: job.deliveries }));
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      () => this.#settle(job, token, true),
      () => this.#settle(job, token, false),
    );
  }

  #settle(job: Job, token: number, ok: boolean): void {
    if (--this.#calls === 0) this.#onIdle?.();
    if (job.token !== token || job.state !== 'running' || this.jobs.get(job.id) !== job) return;
    this.#running--;
    if (ok) {
      job.state = 'acking';
      if (job.ownsKey) this.#releaseKey(job);
      this.#hooks.ack(job);
    } else {
      job.state = 'delayed';
      job.timer = setTimeout(() => {
        job.timer = undefined;
        if (job.state !== 'delayed') return;
        job.state = 'claiming';
        this.#claiming++;
        this.#hooks.reclaim([job]);
      }, this.#options.redeliveryDelayMs);
    }
    this.pump();
    this.#hooks.room();
  }

  #releaseKey(job: Job): void {
    job.ownsKey = false;
    const next = this.#lanes.release(job.key);
    if (next === undefined) return;
    next.ownsKey = true;
    next.state = 'ready';
    this.#ready.push(next);
  }
}
