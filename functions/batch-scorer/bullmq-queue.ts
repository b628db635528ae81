/**
 * The BullMQ BatchQueue: one queue per job (`es-batch-<job>`), one BullMQ job per chunk with jobId
 * `<job>.<chunk>` — BullMQ refuses to add a job whose id exists, so adding a chunk again never duplicates it
 * (BullMQ forbids `:` in custom ids, hence the dot). A finished chunk keeps its result in Redis (the job's
 * return value) until the coordinator has written it to disk and released it, so results of chunks scored while
 * no coordinator was running are not lost. Workers hold a lock per running chunk; when a worker dies its lock
 * expires and BullMQ's stalled-job check puts the chunk back in the waiting list for another worker.
 */
import { Queue, QueueEvents, Worker, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { bullmqDepth } from '../../services/autoscaler/queue-depth.ts';
import { type BatchQueue, type QueueInventory, RETRY_DEFAULTS, type RetryOptions, type WorkerHandle } from './queue.ts';
import { DEFAULT_REGISTRY_KEY, registerQueue, unregisterQueue } from './registry.ts';
import type { ChunkOutcome, ChunkOutput, ChunkProcessor, ChunkTask } from './types.ts';

/** How workers guard the chunks they run. */
export interface WorkerLockOptions {
  /**
   * A running chunk's lock; renewed every half of it while the worker lives. After a worker dies its chunks are
   * redone once this expires (plus up to one stalled-check interval). @defaultValue 10000
   */
  lockDurationMs?: number;
  /** How often a worker looks for chunks whose worker died. @defaultValue 5000 */
  stalledIntervalMs?: number;
  /** Times a chunk may be recovered from a dead worker before it counts as failed. @defaultValue 5 */
  maxStalledCount?: number;
}

export interface BullQueueOptions extends RetryOptions, WorkerLockOptions {
  /** Redis connection (ioredis with `maxRetriesPerRequest: null`); the caller owns and closes it. */
  connection: Redis;
  /** Redis set of live batch queues (registry.ts). @defaultValue 'es:batch:queues' */
  registryKey?: string;
}

export const LOCK_DEFAULTS = { lockDurationMs: 10_000, stalledIntervalMs: 5_000, maxStalledCount: 5 } as const;

function chunkOf(jobId: string | undefined): number | undefined {
  const n = Number(jobId?.slice(jobId.lastIndexOf('.') + 1));
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** BullMQ worker options for batch workers (also used by the batch-scorer Function's pool). */
export function workerOptions(connection: Redis, concurrency: number, lock: WorkerLockOptions = {}): WorkerOptions {
  const l = { ...LOCK_DEFAULTS, ...lock };
  return {
    connection,
    concurrency: Math.max(1, concurrency),
    lockDuration: l.lockDurationMs,
    stalledInterval: l.stalledIntervalMs,
    maxStalledCount: l.maxStalledCount,
  };
}

/** A BullMQ worker scoring one batch queue. */
export function startWorker(
  name: string,
  processor: ChunkProcessor,
  options: WorkerOptions,
): Worker<ChunkTask, ChunkOutput> {
  const worker = new Worker<ChunkTask, ChunkOutput>(
    name,
    async (job, _token, signal) => processor(job.data, signal ?? new AbortController().signal),
    options,
  );
  // Errors of the connection are retried by BullMQ; without a listener Node would throw them.
  worker.on('error', () => undefined);
  return worker;
}

export class BullBatchQueue implements BatchQueue {
  readonly kind = 'bullmq' as const;
  readonly durable = true;
  readonly name: string;
  readonly #redis: Redis;
  readonly #queue: Queue<ChunkTask, ChunkOutput>;
  readonly #options: BullQueueOptions;
  readonly #job: string;
  #events: { queueEvents: QueueEvents; connection: Redis } | undefined;
  readonly #listeners = new Set<(outcome: ChunkOutcome) => void>();
  #lastEventId = '0-0';

  private constructor(job: string, name: string, options: BullQueueOptions) {
    this.#job = job;
    this.name = name;
    this.#redis = options.connection;
    this.#options = options;
    // Every completed event carries the chunk's result: a short event stream bounds Redis memory (the
    // coordinator reads events at once, and its sweep finds results whose event was trimmed away).
    this.#queue = new Queue<ChunkTask, ChunkOutput>(name, {
      connection: options.connection,
      streams: { events: { maxLen: 500 } },
    });
    this.#queue.on('error', () => undefined);
  }

  /** Opens (or re-opens) the queue of `job` and adds it to the registry of live batch queues. */
  static async open(job: string, name: string, options: BullQueueOptions): Promise<BullBatchQueue> {
    const queue = new BullBatchQueue(job, name, options);
    await queue.#queue.waitUntilReady();
    await registerQueue(options.connection, name, options.registryKey ?? DEFAULT_REGISTRY_KEY);
    // Events are read from here on: whatever finished before is in the inventory, nothing falls in between.
    const last = (await options.connection.xrevrange(`bull:${name}:events`, '+', '-', 'COUNT', 1))[0];
    queue.#lastEventId = last?.[0] ?? '0-0';
    return queue;
  }

  #jobId(chunk: number): string {
    return `${this.#job}.${chunk}`;
  }

  async inventory(): Promise<QueueInventory> {
    const pending = new Set<number>();
    for (const job of await this.#queue.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'waiting-children'])) {
      const chunk = chunkOf(job?.id);
      if (chunk !== undefined) pending.add(chunk);
    }
    const finished: ChunkOutcome[] = [];
    for (const job of await this.#queue.getJobs(['completed'])) {
      const chunk = chunkOf(job?.id);
      if (chunk !== undefined && job.returnvalue) finished.push({ chunk, output: job.returnvalue });
    }
    for (const job of await this.#queue.getJobs(['failed'])) {
      const chunk = chunkOf(job?.id);
      if (chunk !== undefined) finished.push({ chunk, error: job.failedReason || 'failed' });
    }
    return { pending, finished };
  }

  async add(tasks: readonly ChunkTask[]): Promise<void> {
    if (tasks.length === 0) return;
    const retry = { ...RETRY_DEFAULTS, ...this.#options };
    await this.#queue.addBulk(
      tasks.map((task) => ({
        name: 'chunk',
        data: task,
        opts: {
          jobId: this.#jobId(task.chunk),
          attempts: retry.attempts,
          backoff: { type: 'exponential', delay: retry.backoffMs },
          removeOnComplete: false,
          removeOnFail: false,
        },
      })),
    );
  }

  onFinished(listener: (outcome: ChunkOutcome) => void): () => void {
    this.#listeners.add(listener);
    this.#ensureEvents();
    return () => this.#listeners.delete(listener);
  }

  #emit(outcome: ChunkOutcome): void {
    for (const listener of this.#listeners) listener(outcome);
  }

  #ensureEvents(): void {
    if (this.#events) return;
    const connection = this.#redis.duplicate();
    const queueEvents = new QueueEvents(this.name, { connection, lastEventId: this.#lastEventId });
    queueEvents.on('error', () => undefined);
    queueEvents.on('completed', ({ jobId, returnvalue }) => {
      const chunk = chunkOf(jobId);
      if (chunk !== undefined && returnvalue) this.#emit({ chunk, output: returnvalue as unknown as ChunkOutput });
    });
    queueEvents.on('failed', ({ jobId, failedReason }) => {
      const chunk = chunkOf(jobId);
      if (chunk !== undefined) this.#emit({ chunk, error: failedReason || 'failed' });
    });
    this.#events = { queueEvents, connection };
  }

  async release(chunk: number): Promise<void> {
    await this.#queue.remove(this.#jobId(chunk));
  }

  depth(): Promise<number> {
    return bullmqDepth(this.#queue)();
  }

  async work(processor: ChunkProcessor, concurrency: number): Promise<WorkerHandle> {
    const worker = startWorker(this.name, processor, workerOptions(this.#redis, concurrency, this.#options));
    await worker.waitUntilReady();
    return { close: () => worker.close() };
  }

  async close(): Promise<void> {
    if (this.#events) {
      await this.#events.queueEvents.close();
      this.#events.connection.disconnect();
      this.#events = undefined;
    }
    await this.#queue.close();
  }

  async destroy(): Promise<void> {
    await this.#queue.obliterate({ force: true });
    await unregisterQueue(this.#redis, this.name, this.#options.registryKey ?? DEFAULT_REGISTRY_KEY);
    await this.close();
  }
}
