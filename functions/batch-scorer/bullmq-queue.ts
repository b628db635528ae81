/**
 * The BullMQ BatchQueue: one queue per job (`es-batch-<job>`), one BullMQ job per chunk with jobId
 * `<job>.<chunk>` — BullMQ refuses to add a job whose id exists, so adding a chunk again never duplicates it
 * (BullMQ forbids `:` in custom ids, hence the dot). A chunk finished by a worker elsewhere keeps its result in
 * Redis (the job's return value) until the coordinator has logged it and released it, so results of chunks scored
 * while no coordinator was running are not lost; a chunk finished by the coordinator's own workers is logged before
 * it completes and leaves the queue at once. Workers hold a lock per running chunk; when a worker dies its lock
 * expires and BullMQ's stalled-job check puts the chunk back in the waiting list for another worker.
 *
 * A chunk's rows are kept beside its job, in the hash `bull:<queue>:rows` (raw JSONL text, or CSV rows as JSON),
 * not in the job's data: the coordinator's own workers take them from its memory, so they go to Redis once and
 * never come back (in the job data they would also travel back to every worker, JSON-escaped); workers elsewhere
 * read them with one HGET.
 *
 * Finished chunks are found by reading the completed and failed sets every `pollMs`, not through BullMQ's event
 * stream: the stream has four events per chunk (added, waiting, active, completed) that a coordinator would parse
 * only to skip, while the sets hold just the chunks it has to act on (scored elsewhere, or failed).
 */
import type { Queue, Worker, WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { bullmqDepth } from '../../services/autoscaler/queue-depth.ts';
import { bullmq } from './lazy-modules.ts';
import {
  type BatchQueue,
  outcomeOf,
  type QueueInventory,
  RETRY_DEFAULTS,
  type RetryOptions,
  type WorkerHandle,
} from './queue.ts';
import { DEFAULT_REGISTRY_KEY, registerQueue, unregisterQueue } from './registry.ts';
import type { ChunkOutcome, ChunkOutput, ChunkProcessor, ChunkReceipt, ChunkTask } from './types.ts';

/** What a chunk's BullMQ job returns: its rows, or a receipt when the coordinator's own worker logged them. */
type ChunkResultValue = ChunkOutput | ChunkReceipt;

/** A chunk's BullMQ job data: the task without its rows, which are in the queue's rows hash, as text or rows. */
type QueuedChunk = Omit<ChunkTask, 'text' | 'rows' | 'lines'> & { stored: 'text' | 'rows' };

/** A job's data: a queued chunk, or a whole task (from a coordinator of an earlier version). */
type JobData = QueuedChunk | ChunkTask;

function rowsKey(queue: string): string {
  return `bull:${queue}:rows`;
}

/** The task of a job: its rows from `local` (the coordinator's memory) or from the queue's rows hash. */
async function taskOf(
  data: JobData,
  queue: string,
  redis: Redis,
  local?: ReadonlyMap<number, ChunkTask>,
): Promise<ChunkTask> {
  if (!('stored' in data)) return data;
  const own = local?.get(data.chunk);
  if (own) return own;
  const value = await redis.hget(rowsKey(queue), String(data.chunk));
  if (value === null) throw new Error(`the rows of chunk ${data.chunk} are no longer in Redis (${rowsKey(queue)})`);
  const { stored: _s, ...task } = data;
  return data.stored === 'text' ? { ...task, text: value } : { ...task, rows: JSON.parse(value) as ChunkTask['rows'] };
}

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
  /** How often the completed and failed sets are read for chunks to hand to `onFinished`. @defaultValue 200 */
  pollMs?: number;
  /** Redis set of live batch queues (registry.ts). @defaultValue 'es:batch:queues' */
  registryKey?: string;
}

export const LOCK_DEFAULTS = { lockDurationMs: 10_000, stalledIntervalMs: 5_000, maxStalledCount: 5 } as const;

function chunkOf(jobId: string | undefined): number | undefined {
  const n = Number(jobId?.slice(jobId.lastIndexOf('.') + 1));
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** BullMQ worker options for batch workers (also used by the batch-scorer Function's pool). */
export function workerOptions(
  connection: Redis,
  concurrency: number,
  lock: WorkerLockOptions = {},
): WorkerOptions & { connection: Redis } {
  const l = { ...LOCK_DEFAULTS, ...lock };
  return {
    connection,
    concurrency: Math.max(1, concurrency),
    lockDuration: l.lockDurationMs,
    stalledInterval: l.stalledIntervalMs,
    maxStalledCount: l.maxStalledCount,
  };
}

/** A BullMQ worker scoring one batch queue (its rows read from `local` first, then from Redis). */
export function startWorker(
  name: string,
  processor: ChunkProcessor,
  options: WorkerOptions & { connection: Redis },
  local?: ReadonlyMap<number, ChunkTask>,
): Worker<JobData, ChunkResultValue> {
  const redis = options.connection;
  const worker = new (bullmq().Worker)<JobData, ChunkResultValue>(
    name,
    async (job, _token, signal) =>
      processor(await taskOf(job.data, name, redis, local), signal ?? new AbortController().signal),
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
  readonly #queue: Queue<JobData, ChunkResultValue>;
  readonly #options: BullQueueOptions;
  readonly #job: string;
  readonly #listeners = new Set<(outcome: ChunkOutcome) => void>();
  /** Finished jobs handed to the listeners and not released yet: not read again. */
  readonly #reported = new Set<string>();
  #poll: NodeJS.Timeout | undefined;
  #collecting: Promise<void> | undefined;
  /** Tasks this process added, for its own workers (once `work` started them); dropped when their chunk is done. */
  readonly #local = new Map<number, ChunkTask>();
  #working = false;
  /** Chunks whose rows are to be deleted from Redis (in one HDEL a little later). */
  #drop: string[] = [];
  #dropTimer: NodeJS.Timeout | undefined;

  private constructor(job: string, name: string, options: BullQueueOptions) {
    this.#job = job;
    this.name = name;
    this.#redis = options.connection;
    this.#options = options;
    // Nobody here reads BullMQ's event stream (see above): a short one bounds Redis memory.
    this.#queue = new (bullmq().Queue)<JobData, ChunkResultValue>(name, {
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
    return queue;
  }

  #jobId(chunk: number): string {
    return `${this.#job}.${chunk}`;
  }

  async inventory(): Promise<QueueInventory> {
    const pending = new Set<number>();
    // Ids only: this runs at every sweep, over up to thousands of queued chunks.
    for (const id of await this.#queue.getRanges(
      ['waiting', 'prioritized', 'delayed', 'active', 'waiting-children'],
      0,
      -1,
    )) {
      const chunk = chunkOf(id);
      if (chunk !== undefined) pending.add(chunk);
    }
    const finished: ChunkOutcome[] = [];
    for (const job of await this.#queue.getJobs(['completed'])) {
      const chunk = chunkOf(job?.id);
      if (chunk !== undefined && job.returnvalue) finished.push(outcomeOf(chunk, job.returnvalue));
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
    const rows: Record<string, string> = {};
    const jobs: { data: QueuedChunk; chunk: number }[] = [];
    for (const task of tasks) {
      const { text, rows: parsed, lines, ...meta } = task;
      const value = text ?? (parsed ? JSON.stringify(parsed) : (lines ?? []).join('\n'));
      rows[String(task.chunk)] = value;
      jobs.push({ chunk: task.chunk, data: { ...meta, stored: parsed ? 'rows' : 'text' } });
      if (this.#working) this.#local.set(task.chunk, task);
    }
    // A chunk released and added again keeps its new rows.
    if (this.#drop.length > 0) this.#drop = this.#drop.filter((field) => !(field in rows));
    // The rows first: a worker may take a job as soon as it is added.
    await this.#redis.hset(rowsKey(this.name), rows);
    await this.#queue.addBulk(
      jobs.map(({ chunk, data }) => ({
        name: 'chunk',
        data,
        opts: {
          jobId: this.#jobId(chunk),
          attempts: retry.attempts,
          backoff: { type: 'exponential', delay: retry.backoffMs },
          // Left to the worker: kept by default (a result waits for its release), dropped by the coordinator's own.
          removeOnFail: false,
        },
      })),
    );
  }

  onFinished(listener: (outcome: ChunkOutcome) => void): () => void {
    this.#listeners.add(listener);
    if (!this.#poll) {
      this.#poll = setInterval(() => {
        this.#collecting ??= this.#collect()
          .catch(() => undefined)
          .finally(() => {
            this.#collecting = undefined;
          });
      }, this.#options.pollMs ?? 200);
      this.#poll.unref();
    }
    return () => this.#listeners.delete(listener);
  }

  /** Hands finished jobs not handed over yet to the listeners. */
  async #collect(): Promise<void> {
    const [completed, failed] = await Promise.all([
      this.#queue.getRanges(['completed'], 0, -1),
      this.#queue.getRanges(['failed'], 0, -1),
    ]);
    const fresh = (ids: string[]) => ids.filter((id) => !this.#reported.has(id) && chunkOf(id) !== undefined);
    const [scored, given] = await Promise.all([
      Promise.all(fresh(completed).map((id) => this.#queue.getJob(id))),
      Promise.all(fresh(failed).map((id) => this.#queue.getJob(id))),
    ]);
    const outcomes: [string, ChunkOutcome][] = [];
    for (const job of scored) {
      if (job?.id && job.returnvalue) outcomes.push([job.id, outcomeOf(chunkOf(job.id)!, job.returnvalue)]);
    }
    for (const job of given) {
      if (job?.id) outcomes.push([job.id, { chunk: chunkOf(job.id)!, error: job.failedReason || 'failed' }]);
    }
    for (const [id, outcome] of outcomes) {
      this.#reported.add(id);
      for (const listener of this.#listeners) listener(outcome);
    }
  }

  async release(chunk: number): Promise<void> {
    const id = this.#jobId(chunk);
    await this.#queue.remove(id);
    this.#reported.delete(id);
    this.#forget(chunk);
  }

  /** Drops what the queue keeps of a chunk that left it: its task in memory, its rows in Redis (batched). */
  #forget(chunk: number): void {
    this.#local.delete(chunk);
    this.#drop.push(String(chunk));
    this.#dropTimer ??= setTimeout(() => void this.#dropRows().catch(() => undefined), 20);
    this.#dropTimer.unref();
  }

  async #dropRows(): Promise<void> {
    if (this.#dropTimer) clearTimeout(this.#dropTimer);
    this.#dropTimer = undefined;
    const fields = this.#drop.splice(0);
    if (fields.length > 0) await this.#redis.hdel(rowsKey(this.name), ...fields);
  }

  depth(): Promise<number> {
    return bullmqDepth(this.#queue)();
  }

  async work(processor: ChunkProcessor, concurrency: number): Promise<WorkerHandle> {
    // The processor logs its chunk before it returns: the job is dropped as it completes (no release round trip).
    // Jobs are added without removeOnComplete, so workers elsewhere keep their results until released.
    const options = { ...workerOptions(this.#redis, concurrency, this.#options), removeOnComplete: { count: 0 } };
    const logged: ChunkProcessor = async (task, signal) => {
      const result = await processor(task, signal);
      // Dropped on completion, an output's rows would be lost: only receipts may come back this way.
      if (!('persisted' in result)) throw new Error('BatchQueue.work: the processor must log its chunk');
      return result;
    };
    const worker = startWorker(this.name, logged, options, this.#local);
    this.#working = true;
    // Its job is gone now (a crash before this point redelivers it, rows and all, and the processor skips it).
    worker.on('completed', (job) => this.#forget(job.data.chunk));
    await worker.waitUntilReady();
    return { close: () => worker.close() };
  }

  async close(): Promise<void> {
    if (this.#poll) clearInterval(this.#poll);
    this.#poll = undefined;
    await this.#collecting;
    await this.#dropRows().catch(() => undefined);
    await this.#queue.close();
  }

  async destroy(): Promise<void> {
    if (this.#dropTimer) clearTimeout(this.#dropTimer);
    this.#dropTimer = undefined;
    this.#drop = [];
    await this.#queue.obliterate({ force: true });
    await this.#redis.del(rowsKey(this.name));
    await unregisterQueue(this.#redis, this.name, this.#options.registryKey ?? DEFAULT_REGISTRY_KEY);
    await this.close();
  }
}
