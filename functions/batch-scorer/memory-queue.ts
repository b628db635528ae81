/**
 * The in-process BatchQueue: for a machine without Redis (the embedded default). Chunks and results live in this
 * process only — if it stops, what was queued is gone; chunks already written to the job directory are kept, so
 * `batch resume` redoes the others, but the queue itself cannot resume across a restart, and no other process
 * can help score.
 */
import { type BatchQueue, type QueueInventory, RETRY_DEFAULTS, type RetryOptions, type WorkerHandle } from './queue.ts';
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
      outcome = { chunk, output: await processor(entry.task, signal) };
    } catch (err) {
      entry.attempts++;
      entry.running = false;
      if (signal.aborted) return;
      if (entry.attempts < this.#retry.attempts) {
        entry.readyAt = Date.now() + this.#retry.backoffMs * 2 ** (entry.attempts - 1);
        const timer = setTimeout(() => this.#notify(), entry.readyAt - Date.now());
        timer.unref();
        return;
      }
      outcome = { chunk, error: err instanceof Error ? err.message : String(err) };
    }
    if (!this.#entries.delete(chunk)) return; // destroyed meanwhile
    this.#finished.set(chunk, outcome);
    for (const listener of this.#listeners) listener(outcome);
  }

  #idle(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => this.#wake.push(resolve));
  }

  #notify(): void {
    for (const wake of this.#wake.splice(0)) wake();
  }
}
