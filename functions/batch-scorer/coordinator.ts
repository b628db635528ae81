/**
 * Runs a batch job to the end: queues the chunks that are neither written nor still in the queue, writes each
 * chunk as it finishes, assembles the output, publishes the completed event. The same code submits a new job and
 * resumes one after a crash: the job directory says which chunks are done, the queue which are still under way,
 * and only the rest is queued again — so after a `kill -9` no row is lost and none is written twice.
 */
import { ElasticServingError } from '../../services/core/errors.ts';
import { OutputAssembler } from './assembler.ts';
import { publishCompleted } from './completed-event.ts';
import { readChunks } from './input.ts';
import { type BatchManifest, type JobDir, rowsOfChunk } from './job-dir.ts';
import type { BatchQueue, WorkerHandle } from './queue.ts';
import type { BatchCompletedData, ChunkOutcome, ChunkProcessor, ChunkTask } from './types.ts';

/** Progress as a coordinator reports it after every chunk. */
export interface BatchProgress {
  job: string;
  rows: number;
  /** Rows in written chunks (scored or failed). */
  doneRows: number;
  failedRows: number;
  /** Rows that were already done when this run started (rows/s counts only this run's). */
  startRows: number;
  chunks: number;
  doneChunks: number;
}

export interface RunOptions {
  /** Opens the job's queue (the manifest says which kind and name). */
  openQueue(manifest: BatchManifest): Promise<BatchQueue>;
  /** Changes to the manifest, made (and written) once the job's lock is held. @defaultValue none */
  update?: (manifest: BatchManifest) => BatchManifest;
  /** Called with the manifest the run uses, once the lock is held. @defaultValue none */
  onStart?: (manifest: BatchManifest) => void;
  /** Scores chunks in this process as well (`concurrency` 0 = leave them to other workers). */
  workers?: { processor: ChunkProcessor; concurrency: number };
  onProgress?: (progress: BatchProgress) => void;
  /** pino-compatible logger. @defaultValue silent */
  logger?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** Stops the run (the job stays resumable). */
  signal?: AbortSignal;
  /** How often a durable queue is read for finished chunks whose event was missed. @defaultValue 2000 */
  sweepMs?: number;
  /** Chunks queued and not yet finished at most (bounds memory and Redis for huge inputs). @defaultValue 2048 */
  maxQueuedChunks?: number;
}

/** What a finished run returns: the completed event's data, and whether the event went out. */
export interface BatchSummary extends BatchCompletedData {
  /** Why the completed event could not be published (the batch itself completed). */
  eventError?: string;
}

/** Some chunks could not be scored after their retries; the job stays resumable. */
export class BatchFailedError extends ElasticServingError {
  constructor(
    message: string,
    readonly failedChunks: ReadonlyMap<number, string>,
  ) {
    super('ES_ERR_BACKEND_UNAVAILABLE', message);
  }
}

const silent = { info: () => undefined, warn: () => undefined };

/** Runs (or resumes) the job in `dir` whose manifest is written; resolves when the output is complete. */
export async function runBatch(dir: JobDir, manifest: BatchManifest, options: RunOptions): Promise<BatchSummary> {
  const log = options.logger ?? silent;
  const unlock = await dir.lock();
  try {
    const current = options.update?.(manifest) ?? manifest;
    if (current !== manifest) await dir.writeManifest(current);
    options.onStart?.(current);
    if (current.completed) {
      await dir.removeChunks();
      return summaryOf(current);
    }
    return await drive(dir, current, options, log);
  } finally {
    await unlock();
  }
}

function summaryOf(manifest: BatchManifest): BatchSummary {
  const c = manifest.completed!;
  return {
    job: manifest.job,
    model: manifest.model,
    rows: c.rows,
    succeeded: c.succeeded,
    failed: c.failed,
    output: manifest.output,
    failedOutput: manifest.failedOutput,
    durationMs: c.durationMs,
  };
}

async function drive(
  dir: JobDir,
  manifest: BatchManifest,
  options: RunOptions,
  log: NonNullable<RunOptions['logger']>,
): Promise<BatchSummary> {
  const { done, failedRows } = await dir.checkedChunks(manifest);
  const progress: BatchProgress = {
    job: manifest.job,
    rows: manifest.input.rows,
    doneRows: [...done].reduce((sum, c) => sum + rowsOfChunk(manifest, c), 0),
    failedRows,
    startRows: 0,
    chunks: manifest.chunks,
    doneChunks: done.size,
  };
  progress.startRows = progress.doneRows;
  options.onProgress?.({ ...progress });

  const assembler = await OutputAssembler.open(dir.chunksDir, manifest.output, manifest.failedOutput);
  for (const chunk of [...done].sort((a, b) => a - b)) assembler.offer(chunk, 'file');
  let queue: BatchQueue;
  try {
    queue = await options.openQueue(manifest);
  } catch (err) {
    await assembler.abort();
    throw err;
  }
  if (!queue.durable) {
    log.warn(
      { job: manifest.job, queue: queue.name },
      'in-process queue: queued chunks live only in this process and it cannot resume across a restart; written chunks are kept',
    );
  }
  const failedChunks = new Map<number, string>();
  const handling = new Set<number>();
  const writes = new Set<Promise<void>>();
  let fileWrites: Promise<void> = Promise.resolve();
  let queued = 0;
  let wake: (() => void) | undefined;
  let writeError: unknown;
  const settled = () => done.size + failedChunks.size;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  const handle = (outcome: ChunkOutcome) => {
    const { chunk } = outcome;
    if (done.has(chunk) || failedChunks.has(chunk) || handling.has(chunk)) {
      if (done.has(chunk)) void queue.release(chunk).catch(() => undefined);
      return;
    }
    handling.add(chunk);
    const work = (async () => {
      if ('output' in outcome) {
        // One chunk file at a time: creating files in one directory from several threads makes the kernel
        // contend on the directory (measured: 2.5× the CPU of writing them in turn).
        const write = fileWrites.then(() => dir.writeChunk(outcome.output));
        fileWrites = write.catch(() => undefined);
        await write;
        done.add(chunk);
        assembler.offer(chunk, outcome.output);
        progress.doneRows += rowsOfChunk(manifest, chunk);
        progress.failedRows += outcome.output.failedRows;
        progress.doneChunks = done.size;
        options.onProgress?.({ ...progress });
      } else {
        failedChunks.set(chunk, outcome.error);
        log.warn({ job: manifest.job, chunk, error: outcome.error }, 'chunk failed after its retries');
      }
      queued = Math.max(0, queued - 1);
      await queue.release(chunk);
    })()
      .catch((err: unknown) => {
        writeError ??= err;
      })
      .finally(() => {
        handling.delete(chunk);
        writes.delete(work);
        poke();
      });
    writes.add(work);
  };

  const off = queue.onFinished(handle);
  options.signal?.addEventListener('abort', poke, { once: true });

  /**
   * Events can be missed (a reconnect, a trimmed event stream), so a durable queue is also read now and then. A
   * chunk the queue lost (absent from it twice in a row, e.g. its keys were deleted) stops the run: resuming
   * queues it again.
   */
  const startSweep = () => {
    let sweeping = false;
    let missing = new Set<number>();
    const timer = setInterval(() => {
      if (sweeping) return;
      sweeping = true;
      queue
        .inventory()
        .then((inv) => {
          for (const outcome of inv.finished) handle(outcome);
          const seen = new Set([...inv.pending, ...inv.finished.map((o) => o.chunk)]);
          const gone = [...inQueue].filter(
            (c) => !seen.has(c) && !done.has(c) && !failedChunks.has(c) && !handling.has(c),
          );
          const lost = gone.filter((c) => missing.has(c));
          missing = new Set(gone);
          if (lost.length > 0) {
            writeError ??= new Error(`chunks ${lost.slice(0, 5).join(', ')} vanished from queue ${queue.name}`);
            poke();
          }
        })
        .catch(() => undefined)
        .finally(() => {
          sweeping = false;
        });
    }, options.sweepMs ?? 2000);
    timer.unref();
    return timer;
  };
  let workers: WorkerHandle | undefined;
  let destroyed = false;
  let assembled = false;
  let sweep: NodeJS.Timeout | undefined;
  /** Chunks this run knows to be in the queue (found there, or added). */
  const inQueue = new Set<number>();
  try {
    const inventory = await queue.inventory();
    for (const outcome of inventory.finished) {
      // A failed chunk of an earlier run is redone: released here, it is queued again below.
      if ('error' in outcome) await queue.release(outcome.chunk);
      else handle(outcome);
    }
    const pending = inventory.pending;
    for (const c of pending) inQueue.add(c);
    queued = [...pending].filter((c) => !done.has(c)).length;
    if (queue.durable) sweep = startSweep();
    log.info(
      { job: manifest.job, chunks: manifest.chunks, done: done.size, inQueue: pending.size, queue: queue.kind },
      'batch running',
    );
    if (options.workers && options.workers.concurrency > 0) {
      workers = await queue.work(options.workers.processor, options.workers.concurrency);
    }

    const maxQueued = options.maxQueuedChunks ?? 2048;
    const waitFor = async (ready: () => boolean) => {
      while (!ready()) {
        options.signal?.throwIfAborted();
        if (writeError !== undefined) throw writeError;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    };

    let batch: ChunkTask[] = [];
    const flush = async () => {
      await queue.add(batch);
      batch = [];
    };
    for await (const { chunk, start, lines, rows } of readChunks(
      manifest.input.path,
      manifest.input.format,
      manifest.chunkSize,
    )) {
      if (done.has(chunk) || pending.has(chunk) || handling.has(chunk)) continue;
      await waitFor(() => queued < maxQueued);
      batch.push({
        job: manifest.job,
        chunk,
        model: manifest.model,
        url: manifest.url,
        start,
        ...(lines ? { lines } : {}),
        ...(rows ? { rows } : {}),
      });
      queued++;
      inQueue.add(chunk);
      if (batch.length >= 64) await flush();
    }
    await flush();
    await waitFor(() => settled() >= manifest.chunks && handling.size === 0);
    await Promise.all([...writes]);
    if (writeError !== undefined) throw writeError;

    if (failedChunks.size > 0) {
      const [first] = failedChunks;
      throw new BatchFailedError(
        `${failedChunks.size} of ${manifest.chunks} chunks could not be scored after their retries (chunk ${first![0]}: ${first![1]}); fix the cause and run \`elastic-serving batch resume\``,
        failedChunks,
      );
    }
    const summary = await complete(dir, manifest, assembler, log);
    assembled = true;
    await workers?.close();
    workers = undefined;
    await queue.destroy();
    destroyed = true;
    return summary;
  } finally {
    if (sweep) clearInterval(sweep);
    off();
    options.signal?.removeEventListener('abort', poke);
    await workers?.close();
    await Promise.allSettled([...writes]);
    if (!destroyed) await queue.close();
    if (!assembled) await assembler.abort();
  }
}

async function complete(
  dir: JobDir,
  manifest: BatchManifest,
  assembler: OutputAssembler,
  log: NonNullable<RunOptions['logger']>,
): Promise<BatchSummary> {
  const counts = await assembler.finish(manifest.chunks);
  const durationMs = Date.now() - Date.parse(manifest.createdAt);
  const summary: BatchSummary = {
    job: manifest.job,
    model: manifest.model,
    rows: counts.succeeded + counts.failed,
    succeeded: counts.succeeded,
    failed: counts.failed,
    output: manifest.output,
    failedOutput: manifest.failedOutput,
    durationMs,
  };
  if (summary.rows !== manifest.input.rows) {
    throw new Error(`batch ${manifest.job}: ${summary.rows} rows written for ${manifest.input.rows} input rows`);
  }
  // Published before the manifest says completed: a crash in between publishes again (at least once).
  if (manifest.eventSink) {
    const { eventError: _e, ...data } = summary;
    await publishCompleted(manifest.eventSink, data).catch((err: unknown) => {
      summary.eventError = err instanceof Error ? err.message : String(err);
      log.warn({ job: manifest.job, sink: manifest.eventSink, err }, 'could not publish the completed event');
    });
  }
  const completed = {
    at: new Date().toISOString(),
    rows: summary.rows,
    succeeded: summary.succeeded,
    failed: summary.failed,
    durationMs,
  };
  await dir.writeManifest({ ...manifest, completed });
  await dir.removeChunks();
  log.info({ job: manifest.job, ...completed }, 'batch completed');
  return summary;
}
