import { Fifo } from './fifo.ts';

/** One fetched record of a partition, from fetch until its handler acknowledged it. */
export interface TrackedRecord {
  readonly offset: number;
  done: boolean;
}

/**
 * What one partition may commit. Records are tracked in offset order from the moment they are fetched; the commit
 * point is the offset of the oldest unfinished one (or the end of what was fetched when all are done), so a commit
 * never passes an event whose handler has not completed, while later events still run and complete out of order.
 */
export class PartitionTracker {
  readonly partition: number;
  /** Set when the partition left this consumer: its remaining records are no longer ours to commit. */
  dropped = false;
  readonly #open = new Fifo<TrackedRecord>();
  /** The offset after the last record fetched; -1 before the first fetch. */
  #fetchedUpTo = -1;
  #committed = -1;

  constructor(partition: number) {
    this.partition = partition;
  }

  /** Whether `offset` was already fetched (kafkajs re-fetches from the committed offset after a rejoin). */
  seen(offset: number): boolean {
    return offset < this.#fetchedUpTo;
  }

  add(offset: number): TrackedRecord {
    const record: TrackedRecord = { offset, done: false };
    this.#open.push(record);
    this.#fetchedUpTo = offset + 1;
    return record;
  }

  /** Everything before `nextOffset` was fetched (covers records kafkajs filtered out, e.g. control records). */
  fetchedThrough(nextOffset: number): void {
    if (nextOffset > this.#fetchedUpTo && this.#fetchedUpTo !== -1) this.#fetchedUpTo = nextOffset;
  }

  /** Marks `record` done; true when the commit point moved. */
  complete(record: TrackedRecord): boolean {
    record.done = true;
    if (this.#open.peek() !== record) return false;
    while (this.#open.peek()?.done === true) this.#open.shift();
    return true;
  }

  /** The offset to commit (the next one to consume), or undefined when nothing was fetched. */
  commitPoint(): number | undefined {
    const oldest = this.#open.peek();
    if (oldest !== undefined) return oldest.offset;
    return this.#fetchedUpTo === -1 ? undefined : this.#fetchedUpTo;
  }

  /** The commit point when it is ahead of what was committed. */
  uncommitted(): number | undefined {
    const point = this.commitPoint();
    return point !== undefined && point > this.#committed ? point : undefined;
  }

  committed(offset: number): void {
    if (offset > this.#committed) this.#committed = offset;
  }
}
