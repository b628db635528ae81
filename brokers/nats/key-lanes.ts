/**
 * Ordered delivery within one process: one event in flight per partition key across every member of a group
 * that lives here. An event whose key is busy waits in that key's lane, in arrival order (JetStream delivers a
 * consumer's events in stream order over our single connection, so arrival order is append order).
 *
 * The key `undefined` is the lane of events without a partition key: one sequence of their own.
 */
export class KeyLanes<T> {
  /** Busy keys, each with the items waiting behind the one that holds it. */
  readonly #lanes = new Map<string | undefined, T[]>();

  /** True when `item` takes the key now; otherwise it is queued behind the key's holder. */
  admit(key: string | undefined, item: T): boolean {
    const lane = this.#lanes.get(key);
    if (lane === undefined) {
      this.#lanes.set(key, []);
      return true;
    }
    lane.push(item);
    return false;
  }

  /** The holder of `key` is done: returns the next waiting item, which now holds the key, if any. */
  release(key: string | undefined): T | undefined {
    const lane = this.#lanes.get(key);
    if (lane === undefined) return undefined;
    const next = lane.shift();
    if (next === undefined) this.#lanes.delete(key);
    return next;
  }

  /** Takes every waiting item `matches` selects out of the lanes (a member leaving); holders are not affected. */
  remove(matches: (item: T) => boolean): T[] {
    const removed: T[] = [];
    for (const lane of this.#lanes.values()) {
      for (let i = lane.length - 1; i >= 0; i--) {
        if (matches(lane[i]!)) removed.unshift(...lane.splice(i, 1));
      }
    }
    return removed;
  }

  /** Keys currently held. */
  get busy(): number {
    return this.#lanes.size;
  }
}
