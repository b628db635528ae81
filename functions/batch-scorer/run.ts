/**
 * One run of a batch job (coordinator.ts): queues what is left, takes what the queue reports — rows scored
 * elsewhere, receipts of rows the coordinator's own workers logged, chunks given up on — into the chunk log and the
 * output, and waits until every chunk is logged or given up on.
 */
import { ElasticServingError } from '../../services/core/errors.ts';
import type { OutputAssembler } from './assembler.ts';
import type { ChunkBytes, ChunkLog } from './chunk-log.ts';
import type { BatchProgress, RunOptions } from './coordinator.ts';
import { readChunks } from './input.ts';
import { type BatchManifest, rowsOfChunk } from './job-dir.ts';
import type { BatchQueue, WorkerHandle } from './queue.ts';
import type { ChunkOutcome, ChunkOutput, ChunkProcessor, ChunkTask } from './types.ts';

/** Some chunks could not be scored after their retries; the job stays resumable. */
export class BatchFailedError extends ElasticServingError {
  constructor(
    message: string,
    readonly failedChunks: ReadonlyMap<number, string>,
  ) {
    super('ES_ERR_BACKEND_UNAVAILABLE', message);
  }
}

/** One run of a job: the queue's outcomes in, the log and the output out. */
export class Run {
  readonly #failedChunks = new Map<number, string>();
  /** Chunks being appended to the log. */
  readonly #persisting = new Map<number, Promise<void>>();
  /** Chunks this run waits for from the queue (found there, or added). */
  readonly #outstanding = new Set<number>();
  /** Chunks this run knows were in the queue (the sweep looks for them there). */
  readonly #inQueue = new Set<number>();
  readonly #releases = new Set<Promise<void>>();
  #wake: (() => void) | undefined;
  #error: unknown;
  #workers: WorkerHandle | undefined;
  #sweep: NodeJS.Timeout | undefined;
  #off: (() => void) | undefined;
  #destroyed = false;

  constructor(
    readonly manifest: BatchManifest,
    readonly chunkLog: ChunkLog,
    readonly assembler: OutputAssembler,
    readonly queue: BatchQueue,
    readonly done: Set<number>,
    readonly progress: BatchProgress,
    readonly options: RunOptions,
    readonly log: NonNullable<RunOptions['logger']>,
  ) {}

  #poke = (): void => {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  };

  #fail(err: unknown): void {
    this.#error ??= err;
    this.#poke();
  }

  #release(chunk: number): void {
    // A chunk left in the queue is harmless (the queue is destroyed when the job is done); the run waits for its
    // releases before it closes the queue all the same.
    const release = this.queue.release(chunk).catch(() => undefined);
    this.#releases.add(release);
    void release.finally(() => this.#releases.delete(release));
  }

  /** Appends a scored chunk to the log (once, whatever the number of times it is scored) and to the output. */
  #persist(output: ChunkOutput): Promise<void> {
    const { chunk } = output;
    if (this.done.has(chunk)) return Promise.resolve();
    const running = this.#persisting.get(chunk);
    if (running) return running;
    const rows = rowsOfChunk(this.manifest, chunk);
    if (output.succeeded + output.failedRows !== rows) {
      return Promise.reject(
        new Error(`chunk ${chunk} came back with ${output.succeeded + output.failedRows} rows for ${rows}`),
      );
    }
    const bytes: ChunkBytes = {
      chunk,
      scored: Buffer.from(output.scored),
      failed: Buffer.from(output.failed),
      succeeded: output.succeeded,
      failedRows: output.failedRows,
    };
    const write = this.chunkLog
      .append(bytes)
      .then(() => {
        this.done.add(chunk);
        this.#failedChunks.delete(chunk);
        this.#outstanding.delete(chunk);
        this.assembler.offer(chunk, bytes);
        const p = this.progress;
        p.doneRows += rows;
        p.failedRows += output.failedRows;
        p.doneChunks = this.done.size;
        this.options.onProgress?.({ ...p });
      })
      .finally(() => {
        this.#persisting.delete(chunk);
        this.#poke();
      });
    this.#persisting.set(chunk, write);
    // The log cannot be written: the run stops (what is in the queue stays there for a resume).
    write.catch((err: unknown) => this.#fail(err));
    return write;
  }

  /** What the queue reports: rows to log, a receipt of rows logged here, or a chunk given up on. */
  #handle = (outcome: ChunkOutcome): void => {
    const { chunk } = outcome;
    const running = this.#persisting.get(chunk);
    // A receipt's chunk left the queue as it finished (BatchQueue.work): nothing to release.
    if ('receipt' in outcome && (this.done.has(chunk) || running)) return;
    if (this.done.has(chunk) || running) {
      void (running ?? Promise.resolve()).then(
        () => this.#release(chunk),
        () => undefined,
      );
      return;
    }
    if ('output' in outcome) {
      this.#persist(outcome.output).then(
        () => this.#release(chunk),
        (err: unknown) => {
          if (this.#error !== undefined) return;
          this.#giveUp(chunk, err instanceof Error ? err.message : String(err));
        },
      );
    } else if ('receipt' in outcome) {
      this.#fail(
        new Error(
          `chunk ${chunk} is reported logged by queue ${this.queue.name} but is not in ${this.chunkLog.path}; run \`elastic-serving batch resume\` to score it again`,
        ),
      );
    } else {
      this.#giveUp(chunk, outcome.error);
    }
  };

  #giveUp(chunk: number, error: string): void {
    this.#failedChunks.set(chunk, error);
    this.#outstanding.delete(chunk);
    this.log.warn({ job: this.manifest.job, chunk, error }, 'chunk failed after its retries');
    this.#release(chunk);
    this.#poke();
  }

  /** The workers of this process: a chunk is logged before the worker reports it, and only a receipt goes back. */
  #localProcessor(processor: ChunkProcessor): ChunkProcessor {
    return async (task, signal) => {
      if (!this.done.has(task.chunk)) {
        const result = await processor(task, signal);
        if ('persisted' in result) return result;
        await this.#persist(result);
      }
      return { chunk: task.chunk, persisted: true };
    };
  }

  async #waitFor(ready: () => boolean): Promise<void> {
    while (!ready()) {
      this.options.signal?.throwIfAborted();
      if (this.#error !== undefined) throw this.#error;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
    if (this.#error !== undefined) throw this.#error;
  }

  /**
   * A durable queue is also read whole now and then: for finished chunks it did not report (a reconnect), and for
   * chunks it lost (absent from it twice in a row, e.g. their keys were deleted), which stop the run: resuming
   * queues them again.
   */
  #startSweep(): NodeJS.Timeout {
    let sweeping = false;
    let missing = new Set<number>();
    const timer = setInterval(() => {
      if (sweeping) return;
      sweeping = true;
      this.queue
        .inventory()
        .then((inv) => {
          for (const outcome of inv.finished) this.#handle(outcome);
          const seen = new Set([...inv.pending, ...inv.finished.map((o) => o.chunk)]);
          const gone = [...this.#inQueue].filter(
            (c) => !seen.has(c) && !this.done.has(c) && !this.#failedChunks.has(c) && !this.#persisting.has(c),
          );
          const lost = gone.filter((c) => missing.has(c));
          missing = new Set(gone);
          if (lost.length > 0) {
            this.#fail(new Error(`chunks ${lost.slice(0, 5).join(', ')} vanished from queue ${this.queue.name}`));
          }
        })
        .catch(() => undefined)
        .finally(() => {
          sweeping = false;
        });
    }, this.options.sweepMs ?? 2000);
    timer.unref();
    return timer;
  }

  /** Queues what is left and waits until every chunk is logged or given up on. */
  async drive(): Promise<void> {
    const { manifest, queue, options, done } = this;
    this.#off = queue.onFinished(this.#handle);
    options.signal?.addEventListener('abort', this.#poke, { once: true });
    const inventory = await queue.inventory();
    for (const outcome of inventory.finished) {
      // A failed chunk of an earlier run is redone, and so is one whose receipt outlived its log record (an OS
      // crash before the log reached the disk): released here, it is queued again below.
      if ('error' in outcome || ('receipt' in outcome && !done.has(outcome.chunk))) {
        await queue.release(outcome.chunk);
      } else this.#handle(outcome);
    }
    const pending = inventory.pending;
    for (const c of pending) {
      this.#inQueue.add(c);
      if (!done.has(c)) this.#outstanding.add(c);
    }
    if (queue.durable) this.#sweep = this.#startSweep();
    this.log.info(
      { job: manifest.job, chunks: manifest.chunks, done: done.size, inQueue: pending.size, queue: queue.kind },
      'batch running',
    );
    if (options.workers && options.workers.concurrency > 0) {
      this.#workers = await queue.work(this.#localProcessor(options.workers.processor), options.workers.concurrency);
    }

    const maxQueued = options.maxQueuedChunks ?? 2048;
    let batch: ChunkTask[] = [];
    let added = 0;
    const flush = async () => {
      await queue.add(batch);
      added += batch.length;
      batch = [];
    };
    for await (const { chunk, start, text, rows } of readChunks(
      manifest.input.path,
      manifest.input.format,
      manifest.chunkSize,
    )) {
      if (done.has(chunk) || pending.has(chunk) || this.#persisting.has(chunk)) continue;
      if (this.#outstanding.size >= maxQueued) {
        await flush();
        await this.#waitFor(() => this.#outstanding.size < maxQueued);
      }
      batch.push({
        job: manifest.job,
        chunk,
        model: manifest.model,
        url: manifest.url,
        start,
        ...(text !== undefined ? { text } : {}),
        ...(rows ? { rows } : {}),
      });
      this.#outstanding.add(chunk);
      this.#inQueue.add(chunk);
      // Small first batches get the workers going at once; later ones amortise the round trip.
      if (batch.length >= Math.min(64, 1 + added)) await flush();
    }
    await flush();
    await this.#waitFor(() => done.size + this.#failedChunks.size >= manifest.chunks && this.#persisting.size === 0);
    if (this.#failedChunks.size > 0) {
      const [first] = this.#failedChunks;
      throw new BatchFailedError(
        `${this.#failedChunks.size} of ${manifest.chunks} chunks could not be scored after their retries (chunk ${first![0]}: ${first![1]}); fix the cause and run \`elastic-serving batch resume\``,
        this.#failedChunks,
      );
    }
  }

  /** The job is complete: stops the workers and removes the queue. */
  async finish(): Promise<void> {
    await this.#workers?.close();
    this.#workers = undefined;
    await this.queue.destroy();
    this.#destroyed = true;
  }

  /** Ends the run whatever happened, leaving the queue for a resume unless it was destroyed. */
  async stop(): Promise<void> {
    if (this.#sweep) clearInterval(this.#sweep);
    this.#off?.();
    this.options.signal?.removeEventListener('abort', this.#poke);
    await this.#workers?.close();
    await Promise.allSettled([...this.#persisting.values()]);
    await Promise.allSettled([...this.#releases]);
    if (!this.#destroyed) await this.queue.close();
  }
}
