import { Deque } from './deque.ts';

/**
 * Ordered delivery within one process, shared by the adapters: one event in flight per partition key. An event
 * whose key is busy waits in that key's lane, in arrival order (adapters feed events in log order).
 *
 * The key `undefined` is the lane of events without a partition key: one sequence of their own.
 */
export class KeyLanes<T> {
  /** Busy keys, each with the items waiting behind the one that holds it. */
  readonly #lanes = new Map<string | undefined, Deque<T>>();
  #waiting = 0;

  /** True when `item` takes the key now; otherwise it is queued behind the key's holder. */
  admit(key: string | undefined, item: T): boolean {
    const lane = this.#lanes.get(key);
    if (lane === undefined) {
      this.#lanes.set(key, new Deque<T>());
      return true;
    }
    lane.push(item);
    this.#waiting++;
    return false;
  }

  /** The holder of `key` is done: returns the next waiting item, which now holds the key, if any. */
  release(key: string | undefined): T | undefined {
    const lane = this.#lanes.get(key);
    if (lane === undefined) return undefined;
    const next = lane.shift();
    if (next === undefined) this.#lanes.delete(key);
    else this.#waiting--;
    return next;
  }

  /** Takes every waiting item `matches` selects out of the lanes (a member leaving); holders are not affected. */
  remove(matches: (item: T) => boolean): T[] {
    const removed: T[] = [];
    for (const [key, lane] of this.#lanes) {
      const kept = new Deque<T>();
      for (const item of lane) {
        if (matches(item)) removed.push(item);
        else kept.push(item);
      }
      if (kept.size !== lane.size) this.#lanes.set(key, kept);
    }
    this.#waiting -= removed.length;
    return removed;
  }

  /** Marks `key` busy without an item (an event already running when ordering was switched on). */
  hold(key: string | undefined): void {
    if (!this.#lanes.has(key)) this.#lanes.set(key, new Deque<T>());
  }

  /** Every waiting item, lane by lane. */
  waitingItems(): T[] {
    return [...this.#lanes.values()].flatMap((lane) => [...lane]);
  }

  /** Forgets every key and waiting item. */
  clear(): void {
    this.#lanes.clear();
    this.#waiting = 0;
  }

  /** Items waiting behind busy keys. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Keys currently held. */
  get busy(): number {
    return this.#lanes.size;
  }
}
