import type { CloudEvent } from '../../services/core/cloudevent.ts';

/** One stored event. Positions are per-topic sequence numbers, contiguous from `Topic.firstSeq`. */
export interface Entry {
  readonly seq: number;
  /** Dropped (undefined) once every group has acknowledged the event; the entry stays until the head passes it. */
  event: CloudEvent | undefined;
  /** Arrival time in ms since the epoch, never decreasing within a topic (so replay by time can bisect). */
  readonly arrival: number;
  readonly bytes: number;
  /** Groups that have not acknowledged this event yet. */
  pending: number;
}

/** Live (not yet freed) events and bytes across every topic of one log: what the bounds apply to. */
export interface Usage {
  events: number;
  bytes: number;
  /** Called after an event is freed (the log wakes producers waiting at its high-water mark). */
  onFreed?: () => void;
}

/**
 * The retained part of one topic plus its dedup window.
 *
 * Entries live in an array with a moving start index so dropping the acknowledged head is O(1) amortised; a freed
 * entry in the middle (acked by all while an older one is still pending) keeps only its small shell.
 */
export class Topic {
  readonly name: string;
  /** Sequence number of the oldest retained entry. */
  firstSeq = 1;
  /** Sequence number the next stored event gets. */
  nextSeq = 1;
  #entries: Entry[] = [];
  #start = 0;
  #lastArrival = 0;
  readonly #usage: Usage;
  readonly #dedupLimit: number;
  readonly #dedupKeys = new Set<string>();
  readonly #dedupRing: (string | undefined)[];
  #dedupNext = 0;

  constructor(name: string, usage: Usage, dedupWindow: number) {
    this.name = name;
    this.#usage = usage;
    this.#dedupLimit = dedupWindow;
    this.#dedupRing = new Array<string | undefined>(dedupWindow);
  }

  get(seq: number): Entry | undefined {
    return this.#entries[this.#start + (seq - this.firstSeq)];
  }

  /** Stores one event for `groups` groups; callers have already checked the bounds. */
  push(event: CloudEvent, bytes: number, groups: number): Entry {
    const now = Date.now();
    // Clock steps backwards must not break the bisection in seqAtOrAfter.
    const arrival = Math.max(now, this.#lastArrival);
    this.#lastArrival = arrival;
    const entry: Entry = { seq: this.nextSeq++, event, arrival, bytes, pending: groups };
    this.#entries.push(entry);
    this.#usage.events++;
    this.#usage.bytes += bytes;
    return entry;
  }

  /** One group is done with `entry`; frees it when it was the last. */
  release(entry: Entry): void {
    if (--entry.pending > 0 || entry.event === undefined) return;
    entry.event = undefined;
    this.#usage.events--;
    this.#usage.bytes -= entry.bytes;
    if (entry.seq === this.firstSeq) this.trim();
    this.#usage.onFreed?.();
  }

  /** Drops the freed prefix of the log. */
  trim(): void {
    const entries = this.#entries;
    let start = this.#start;
    while (start < entries.length && entries[start]!.event === undefined) start++;
    this.firstSeq += start - this.#start;
    if (start === entries.length) {
      this.#entries = [];
      this.#start = 0;
    } else if (start >= 4096 && start * 2 >= entries.length) {
      this.#entries = entries.slice(start);
      this.#start = 0;
    } else {
      this.#start = start;
    }
  }

  /** Frees everything (topic deleted). */
  clear(): void {
    for (let i = this.#start; i < this.#entries.length; i++) {
      const entry = this.#entries[i]!;
      if (entry.event === undefined) continue;
      entry.event = undefined;
      entry.pending = 0;
      this.#usage.events--;
      this.#usage.bytes -= entry.bytes;
    }
    this.firstSeq = this.nextSeq;
    this.#entries = [];
    this.#start = 0;
  }

  /** Sequence number of the first retained entry that arrived at or after `timeMs` (`nextSeq` if none). */
  seqAtOrAfter(timeMs: number): number {
    let lo = this.#start;
    let hi = this.#entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#entries[mid]!.arrival < timeMs) lo = mid + 1;
      else hi = mid;
    }
    return this.firstSeq + (lo - this.#start);
  }

  /** Whether `source`+`id` (joined as `key`) was stored within the dedup window. */
  isDuplicate(key: string): boolean {
    return this.#dedupLimit !== 0 && this.#dedupKeys.has(key);
  }

  /** Adds `key` to the window, forgetting the oldest one when the window is full. */
  remember(key: string): void {
    if (this.#dedupLimit === 0) return;
    const evicted = this.#dedupRing[this.#dedupNext];
    if (evicted !== undefined) this.#dedupKeys.delete(evicted);
    this.#dedupRing[this.#dedupNext] = key;
    this.#dedupNext = this.#dedupNext + 1 === this.#dedupLimit ? 0 : this.#dedupNext + 1;
    this.#dedupKeys.add(key);
  }

  get dedupEnabled(): boolean {
    return this.#dedupLimit !== 0;
  }
}
