/**
 * The in-process BatchQueue: for a machine without Redis (the embedded default). Chunks and results live in this
 * process only — if it stops, what was queued is gone; chunks already written to the job directory are kept, so
 * `batch resume` redoes the others, but the queue itself cannot resume across a restart, and no other process
 * can help score.
 */
import { setMaxListeners } from 'node:events';
import {
  type BatchQueue,
  outcomeOf,
  type QueueInventory,
  RETRY_DEFAULTS,
  type RetryOptions,
  type WorkerHandle,
} from './queue.ts';
import type { ChunkOutcome, ChunkProcessor, ChunkTask } from './types.ts';

interface Entry {
  task: ChunkTask;
  attempts: number;
  /** Not before this time (retry backoff). */
  readyAt: number;
  running: boolean;
}

export class InProcessQueue implements BatchQueue {
  readonly kind = 'in-process' as const;
  readonly durable = false;
  readonly name: string;
  readonly #retry: Required<RetryOptions>;
  readonly #entries = new Map<number, Entry>();
  readonly #finished = new Map<number, ChunkOutcome>();
  readonly #listeners = new Set<(outcome: ChunkOutcome) => void>();
  /** Wakes idle worker lanes when a chunk is added or a backoff ends. */
  #wake: (() => void)[] = [];

  constructor(name: string, retry: RetryOptions = {}) {
    this.name = name;
    this.#retry = { ...RETRY_DEFAULTS, ...retry };
  }

  async inventory(): Promise<QueueInventory> {
    return { pending: new Set(this.#entries.keys()), finished: [...this.#finished.values()] };
  }

  async add(tasks: readonly ChunkTask[]): Promise<void> {
    for (const task of tasks) {
      if (this.#entries.has(task.chunk) || this.#finished.has(task.chunk)) continue;
      this.#entries.set(task.chunk, { task, attempts: 0, readyAt: 0, running: false });
    }
    this.#notify();
  }

  onFinished(listener: (outcome: ChunkOutcome) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async release(chunk: number): Promise<void> {
    this.#finished.delete(chunk);
  }

  async depth(): Promise<number> {
    return this.#entries.size;
  }

  async work(processor: ChunkProcessor, concurrency: number): Promise<WorkerHandle> {
    const abort = new AbortController();
    // Every lane's model-server calls listen to this one signal.
    setMaxListeners(0, abort.signal);
    const lane = async () => {
      while (!abort.signal.aborted) {
        const entry = this.#take();
        if (entry === undefined) {
          await this.#idle(abort.signal);
          continue;
        }
        await this.#run(entry, processor, abort.signal);
      }
    };
    const lanes = Array.from({ length: Math.max(1, concurrency) }, lane);
    return {
      close: async () => {
        abort.abort();
        this.#notify();
        await Promise.allSettled(lanes);
      },
    };
  }

  async close(): Promise<void> {
    this.#notify();
  }

  async destroy(): Promise<void> {
    this.#entries.clear();
    this.#finished.clear();
    this.#notify();
  }

  #take(): Entry | undefined {
    const now = Date.now();
    for (const entry of this.#entries.values()) {
      if (!entry.running && entry.readyAt <= now) {
        entry.running = true;
        return entry;
      }
    }
    return undefined;
  }

  async #run(entry: Entry, processor: ChunkProcessor, signal: AbortSignal): Promise<void> {
    const { chunk } = entry.task;
    let outcome: ChunkOutcome;
    try {
      outcome = outcomeOf(chunk, await processor(entry.task, signal));
    } catch (err) {
      entry.attempts++;
      entry.running = false;
      if (signal.aborted) return;
      if (entry.attempts < this.#retry.attempts) {
        entry.readyAt = Date.now() + this.#retry.backoffMs * 2 ** (entry.attempts - 1);
        return;
      }
      outcome = { chunk, error: err instanceof Error ? err.message : String(err) };
    }
    if (!this.#entries.delete(chunk)) return; // destroyed meanwhile
    if (!('receipt' in outcome)) this.#finished.set(chunk, outcome);
    for (const listener of this.#listeners) listener(outcome);
  }

  /**
   * Waits for a chunk to be added, or for the earliest retry backoff to end. (A timer set when the backoff began
   * could fire a millisecond before `Date.now()` reaches it, find nothing ready, and leave the lane waiting for
   * good: the wait is measured again here.)
   */
  #idle(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    let next = Number.POSITIVE_INFINITY;
    for (const entry of this.#entries.values()) if (!entry.running) next = Math.min(next, entry.readyAt);
    return new Promise((resolve) => {
      if (next === Number.POSITIVE_INFINITY) {
        this.#wake.push(resolve);
        return;
      }
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(
        () => {
          this.#wake = this.#wake.filter((w) => w !== wake);
          resolve();
        },
        Math.max(1, next - Date.now() + 1),
      );
      this.#wake.push(wake);
    });
  }

  #notify(): void {
    for (const wake of this.#wake.splice(0)) wake();
  }
}
