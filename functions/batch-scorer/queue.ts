/**
 * The queue between a batch coordinator and the workers that score its chunks. One queue per batch job. Two
 * implementations: BullMQ on Redis (durable: queued chunks and finished results survive the coordinator, workers
 * may run anywhere) and an in-process queue for a machine without Redis (nothing survives the process).
 *
 * Only the coordinator writes the job directory: workers hand results back through the queue, so a chunk is
 * written once whatever the number of workers, and a worker needs no access to the coordinator's disk.
 */
import type { ChunkOutcome, ChunkOutput, ChunkProcessor, ChunkReceipt, ChunkTask, QueueKind } from './types.ts';

/** What a queue still holds of a job, read when a coordinator (re)starts. */
export interface QueueInventory {
  /** Chunks waiting, delayed or being scored: they will finish without being added again. */
  pending: Set<number>;
  /** Chunks finished whose outcome the coordinator has not released yet (it may not have persisted them). */
  finished: ChunkOutcome[];
}

export interface WorkerHandle {
  /** Stops taking chunks; waits for the ones being scored. */
  close(): Promise<void>;
}

export interface BatchQueue {
  readonly kind: QueueKind;
  /** Queue name (BullMQ queue, log lines). */
  readonly name: string;
  /** True when queued chunks and finished results outlive this process. */
  readonly durable: boolean;
  /** Chunks the queue holds now. */
  inventory(): Promise<QueueInventory>;
  /** Queues chunks; a chunk already queued or finished and not released is not queued twice. */
  add(tasks: readonly ChunkTask[]): Promise<void>;
  /** Calls `listener` for every chunk that finishes from now on (at least once; the coordinator dedups). */
  onFinished(listener: (outcome: ChunkOutcome) => void): () => void;
  /** Forgets a finished chunk once its outcome is persisted (or is to be redone). */
  release(chunk: number): Promise<void>;
  /** Chunks waiting, delayed or running: the autoscaler's queue depth. */
  depth(): Promise<number>;
  /**
   * Starts the coordinator's own workers on this queue. Their processor logs each chunk before it returns and
   * returns a receipt, which is not kept: the chunk leaves the queue as it finishes, with nothing to release. (A
   * worker elsewhere, whose rows must wait in the queue for the coordinator, is bullmq-queue.ts `startWorker`.)
   */
  work(processor: ChunkProcessor, concurrency: number): Promise<WorkerHandle>;
  /** Disconnects, leaving whatever is queued (a later coordinator resumes it). */
  close(): Promise<void>;
  /** Removes the queue and everything in it (the job is done), then disconnects. */
  destroy(): Promise<void>;
}

/** Retry policy of a chunk whose scoring rejected (model server down, 503 …). */
export interface RetryOptions {
  /** Tries of a chunk before it is given up on (the batch then fails; `batch resume` tries again). @defaultValue 3 */
  attempts?: number;
  /** First retry delay; doubles per try. @defaultValue 1000 */
  backoffMs?: number;
}

export const RETRY_DEFAULTS = { attempts: 3, backoffMs: 1000 } as const;

/** The outcome a processor's result makes. */
export function outcomeOf(chunk: number, result: ChunkOutput | ChunkReceipt): ChunkOutcome {
  return 'persisted' in result ? { chunk, receipt: result } : { chunk, output: result };
}
