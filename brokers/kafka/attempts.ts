/**
 * Delivery counts of one group's unacknowledged events in this process, by position. Kafka keeps no per-record
 * delivery count, so `deliveryCount` survives consumer restarts and rebalances within the process but restarts at 1
 * in another process (or after a replay, which clears it). Bounded: the oldest entries go first.
 */
export class AttemptCounter {
  readonly #counts = new Map<string, number>();
  readonly #max: number;

  constructor(max = 10_000) {
    this.#max = max;
  }

  /** The count of the delivery about to start. */
  next(position: string): number {
    const count = (this.#counts.get(position) ?? 0) + 1;
    this.#counts.set(position, count);
    if (this.#counts.size > this.#max) {
      const oldest = this.#counts.keys().next().value;
      if (oldest !== undefined) this.#counts.delete(oldest);
    }
    return count;
  }

  forget(position: string): void {
    this.#counts.delete(position);
  }

  clear(): void {
    this.#counts.clear();
  }
}
