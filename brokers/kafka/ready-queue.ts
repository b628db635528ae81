import { Fifo } from './fifo.ts';

/** What the queues need to know of a delivery. */
export interface Queued {
  /** Ordered mode: the `partitionkey` (undefined = the keyless sequence). */
  readonly key: string | undefined;
}

/** Deliveries waiting for a handler, in the order they may start. */
export interface ReadyQueue<T extends Queued> {
  /** Queued deliveries (not running, not waiting for a redelivery delay). */
  readonly length: number;
  /** A newly fetched delivery. */
  push(item: T): void;
  /** A delivery offered again (after a rejection delay or an expired ack wait): it goes first. */
  retry(item: T): void;
  /** The next delivery that may start now, if any. */
  take(): T | undefined;
  /** `item` (taken earlier) will not run again: its key is free. */
  finish(item: T): void;
  /** Removes queued deliveries matching `drop`. */
  remove(drop: (item: T) => boolean): T[];
}

/** Unordered: first in, first out; anything may run alongside anything. */
export class FifoReadyQueue<T extends Queued> implements ReadyQueue<T> {
  readonly #items = new Fifo<T>();

  get length(): number {
    return this.#items.length;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  retry(item: T): void {
    this.#items.unshift(item);
  }

  take(): T | undefined {
    return this.#items.shift();
  }

  finish(): void {}

  remove(drop: (item: T) => boolean): T[] {
    return this.#items.remove(drop);
  }
}

const KEYLESS = Symbol('keyless');
type Key = string | typeof KEYLESS;

/**
 * Ordered: one delivery per key between `take` and `finish` (a rejected one keeps its key busy through its
 * redelivery delay, so later events of that key wait for it); keys become ready in the order they got work.
 * Invariant: a key is in `#ready` exactly when it is not busy and has queued items.
 */
export class KeyedReadyQueue<T extends Queued> implements ReadyQueue<T> {
  readonly #byKey = new Map<Key, Fifo<T>>();
  readonly #busy = new Set<Key>();
  readonly #ready = new Fifo<Key>();
  readonly #readySet = new Set<Key>();
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(item: T): void {
    const key = item.key ?? KEYLESS;
    this.#queueOf(key).push(item);
    this.#length++;
    if (!this.#busy.has(key)) this.#markReady(key);
  }

  retry(item: T): void {
    const key = item.key ?? KEYLESS;
    this.#queueOf(key).unshift(item);
    this.#length++;
    // The key was busy with this very item; it is ready again with the item first.
    this.#busy.delete(key);
    this.#markReady(key);
  }

  take(): T | undefined {
    for (let key = this.#ready.shift(); key !== undefined; key = this.#ready.shift()) {
      this.#readySet.delete(key);
      const queue = this.#byKey.get(key);
      const item = queue?.shift();
      if (item === undefined || queue === undefined) continue;
      if (queue.length === 0) this.#byKey.delete(key);
      this.#busy.add(key);
      this.#length--;
      return item;
    }
    return undefined;
  }

  finish(item: T): void {
    const key = item.key ?? KEYLESS;
    this.#busy.delete(key);
    if (this.#byKey.has(key)) this.#markReady(key);
  }

  remove(drop: (item: T) => boolean): T[] {
    const removed: T[] = [];
    for (const [key, queue] of this.#byKey) {
      removed.push(...queue.remove(drop));
      if (queue.length === 0) this.#byKey.delete(key);
    }
    this.#length -= removed.length;
    for (const key of this.#ready.remove((key) => !this.#byKey.has(key))) this.#readySet.delete(key);
    return removed;
  }

  #markReady(key: Key): void {
    if (this.#readySet.has(key)) return;
    this.#readySet.add(key);
    this.#ready.push(key);
  }

  #queueOf(key: Key): Fifo<T> {
    let queue = this.#byKey.get(key);
    if (queue === undefined) {
      queue = new Fifo<T>();
      this.#byKey.set(key, queue);
    }
    return queue;
  }
}
