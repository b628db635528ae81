/**
 * BullMQ workers for every live batch queue: what a batch-scorer replica runs. The queues are a fixed list, or
 * (by default) whatever the registry of live batch queues holds, re-read every `pollMs`, so replicas the
 * autoscaler adds pick up every job's chunks, and a job's queue is left when the job is done.
 */
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { startWorker, type WorkerLockOptions, workerOptions } from './bullmq-queue.ts';
import { DEFAULT_REGISTRY_KEY, registeredQueues } from './registry.ts';
import type { ChunkProcessor } from './types.ts';

export interface WorkerPoolOptions extends WorkerLockOptions {
  /** Redis connection (`maxRetriesPerRequest: null`); the caller owns it. */
  connection: Redis;
  processor: ChunkProcessor;
  /** Chunks scored at once per queue. @defaultValue 4 */
  concurrency?: number;
  /** Work only these queues. @defaultValue [] (follow the registry) */
  queues?: readonly string[];
  /** @defaultValue 'es:batch:queues' */
  registryKey?: string;
  /** How often the registry is read. @defaultValue 1000 */
  pollMs?: number;
  /** Told about failures to read the registry (the pool keeps its workers and tries again). @defaultValue none */
  onError?: (err: unknown) => void;
}

export class BatchWorkerPool {
  readonly #options: WorkerPoolOptions;
  readonly #workers = new Map<string, Worker>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #syncing: Promise<void> = Promise.resolve();

  constructor(options: WorkerPoolOptions) {
    this.#options = options;
  }

  /** Queues being worked now. */
  get queues(): string[] {
    return [...this.#workers.keys()].sort();
  }

  async start(): Promise<void> {
    await this.sync();
    if (this.#options.queues?.length) return;
    this.#timer = setInterval(() => {
      void this.sync().catch((err: unknown) => this.#options.onError?.(err));
    }, this.#options.pollMs ?? 1000);
    this.#timer.unref();
  }

  /** Starts workers for queues that appeared and closes those of queues that are gone. */
  sync(): Promise<void> {
    // A failed read must not stop later ones: each sync starts from a settled chain.
    this.#syncing = this.#syncing
      .catch(() => undefined)
      .then(async () => {
        if (this.#closed) return;
        const fixed = this.#options.queues ?? [];
        const wanted = new Set(
          fixed.length > 0
            ? fixed
            : await registeredQueues(this.#options.connection, this.#options.registryKey ?? DEFAULT_REGISTRY_KEY),
        );
        for (const [name, worker] of this.#workers) {
          if (!wanted.has(name)) {
            this.#workers.delete(name);
            await worker.close();
          }
        }
        const options = workerOptions(this.#options.connection, this.#options.concurrency ?? 4, this.#options);
        for (const name of wanted) {
          if (!this.#workers.has(name)) this.#workers.set(name, startWorker(name, this.#options.processor, options));
        }
      });
    return this.#syncing;
  }

  /** Stops taking chunks and waits for the running ones. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#syncing.catch(() => undefined);
    await Promise.all([...this.#workers.values()].map((w) => w.close()));
    this.#workers.clear();
  }
}
