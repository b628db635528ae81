/**
 * Runs a batch job to the end: queues the chunks that are neither logged nor still in the queue, appends each
 * chunk to the job's chunk log as it finishes, assembles the output, publishes the completed event. The same code
 * submits a new job and resumes one after a crash: the chunk log says which chunks are done, the queue which are
 * still under way, and only the rest is queued again — so after a `kill -9` no row is lost and none is written
 * twice.
 *
 * Chunks scored by workers in this process are logged here before the worker reports them done, and only a
 * receipt goes back through the queue; chunks scored elsewhere (batch-scorer replicas) bring their rows through the
 * queue and are logged when they arrive. Only this process writes the job directory.
 */
import { OutputAssembler } from './assembler.ts';
import type { ChunkLog } from './chunk-log.ts';
import { publishCompleted } from './completed-event.ts';
import { type BatchManifest, type JobDir, rowsOfChunk } from './job-dir.ts';
import type { BatchQueue } from './queue.ts';
import { Run } from './run.ts';
import type { BatchCompletedData, ChunkProcessor } from './types.ts';

export { BatchFailedError } from './run.ts';

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
  /** How often a durable queue is read whole (finished chunks it did not report, chunks it lost). @defaultValue 2000 */
  sweepMs?: number;
  /** Chunks queued and not yet finished at most (bounds memory and Redis for huge inputs). @defaultValue 2048 */
  maxQueuedChunks?: number;
  /**
   * How often the chunk log is fdatasync'ed in the background (an OS crash costs at most this much scoring
   * again); 0 syncs after every chunk. A process crash loses nothing either way. @defaultValue 2000
   */
  syncIntervalMs?: number;
}

/** What a finished run returns: the completed event's data, and whether the event went out. */
export interface BatchSummary extends BatchCompletedData {
  /** Why the completed event could not be published (the batch itself completed). */
  eventError?: string;
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
      await dir.removeLog();
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
  const { log: chunkLog, scan } = await dir.openLog(manifest, {
    ...(options.syncIntervalMs !== undefined ? { syncIntervalMs: options.syncIntervalMs } : {}),
  });
  if (scan.end < scan.size) {
    log.warn(
      { job: manifest.job, log: chunkLog.path, cut: scan.size - scan.end },
      'chunk log ended in a torn or damaged record: cut off, its chunks are scored again',
    );
  }
  const done = new Set(scan.records.keys());
  const progress: BatchProgress = {
    job: manifest.job,
    rows: manifest.input.rows,
    doneRows: [...done].reduce((sum, c) => sum + rowsOfChunk(manifest, c), 0),
    failedRows: [...scan.records.values()].reduce((sum, r) => sum + r.failedRows, 0),
    startRows: 0,
    chunks: manifest.chunks,
    doneChunks: done.size,
  };
  progress.startRows = progress.doneRows;
  options.onProgress?.({ ...progress });

  let assembler: OutputAssembler;
  let queue: BatchQueue;
  try {
    assembler = await OutputAssembler.open(manifest.output, manifest.failedOutput);
  } catch (err) {
    await chunkLog.close();
    throw err;
  }
  for (const record of [...scan.records.values()].sort((a, b) => a.chunk - b.chunk)) {
    assembler.offer(record.chunk, () => chunkLog.read(record));
  }
  try {
    queue = await options.openQueue(manifest);
  } catch (err) {
    await assembler.abort();
    await chunkLog.close();
    throw err;
  }
  if (!queue.durable) {
    log.warn(
      { job: manifest.job, queue: queue.name },
      'in-process queue: queued chunks live only in this process and it cannot resume across a restart; logged chunks are kept',
    );
  }
  const run = new Run(manifest, chunkLog, assembler, queue, done, progress, options, log);
  let completed = false;
  try {
    await run.drive();
    const summary = await complete(dir, manifest, assembler, chunkLog, log);
    completed = true;
    await run.finish();
    return summary;
  } finally {
    await run.stop();
    if (!completed) await assembler.abort();
    await chunkLog.close();
  }
}

async function complete(
  dir: JobDir,
  manifest: BatchManifest,
  assembler: OutputAssembler,
  chunkLog: ChunkLog,
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
  await chunkLog.close(false);
  await dir.removeLog();
  log.info({ job: manifest.job, ...completed }, 'batch completed');
  return summary;
}
