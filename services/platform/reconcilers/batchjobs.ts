/**
 * BatchJob (`serving.elastic-serving.dev/v1alpha1`): runs the batch coordinator (functions/batch-scorer) inside
 * the platform, like a Kubernetes Job runs a pod to completion.
 *
 * - A BatchJob starts once; its status reports `rowsDone`/`rowsTotal` while it runs and conditions `Succeeded`
 *   and `Failed` (with `Ready` mirroring them: Unknown while running, True on success, False on failure).
 * - A platform restart resumes unfinished jobs from their job directory (`<output>.job/`): written chunks are kept,
 *   chunks still queued in BullMQ are not queued again.
 * - A failed job (chunks the model server could not score after their retries) stays failed; changing the
 *   annotation `serving.elastic-serving.dev/batch-retry` to any new value resumes it.
 * - A new generation (spec changed) after the job finished starts it again; spec changes while it runs wait for
 *   the run to end. Deleting a BatchJob stops its run and leaves its files (resumable with `batch resume`).
 */
import { rm } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type BatchRunOptions,
  DEFAULT_CONCURRENCY,
  resumeBatch,
  submitBatch,
} from '../../../functions/batch-scorer/batch.ts';
import type { BatchProgress, BatchSummary } from '../../../functions/batch-scorer/coordinator.ts';
import { JobDir, jobDirOf } from '../../../functions/batch-scorer/job-dir.ts';
import type { QueueBackendOptions } from '../../../functions/batch-scorer/queue-choice.ts';
import type { ReconcileContext, StatusPatch } from '../../controller/reconciler.ts';
import type { Resource, ResourceStatus } from '../../controller/resources/types.ts';
import { type AddressBook, type Destination, functionUrl, resolveDestination } from '../addresses.ts';
import { NotReadyError } from './not-ready.ts';

/** What a BatchJob asks for (validated by batchJobSpecSchema). */
export interface BatchJobSpec {
  /** Model name on the model server. */
  model: string;
  /** InferenceService name in the BatchJob's namespace (served on the gateway), or a base URL. */
  inferenceService: string;
  /** JSONL or CSV file: a path (relative to the platform's directory) or a `file://` URI. */
  input: string;
  /** Output JSONL file; failed rows go to `<output>.failed.jsonl`. */
  output: string;
  /** Rows per chunk. @defaultValue 256 */
  chunkSize?: number;
  /** Chunks the platform scores at once; 0 leaves them to batch-scorer replicas. @defaultValue 8 */
  concurrency?: number;
  /** Where `dev.elasticserving.batch.completed` goes (a Broker ref or a URI). @defaultValue none */
  sink?: Destination;
}

export const RETRY_ANNOTATION = 'serving.elastic-serving.dev/batch-retry';

export interface BatchJobReconcilerDeps {
  addresses: AddressBook;
  /** Relative `input`/`output` paths are resolved against it. */
  baseDir: string;
  /** Queue choice for every job (mode, Redis URL). @defaultValue auto: BullMQ when Redis answers */
  queue?: QueueBackendOptions;
  runs: BatchJobRuns;
  logger?: BatchRunOptions['logger'];
  /** Called when a run progresses or ends, to reconcile that BatchJob again (`reconciler.enqueueWhere`). */
  changed(namespace: string, name: string): void;
}

interface Run {
  generation: number | undefined;
  retry: string | undefined;
  abort: AbortController;
  progress: BatchProgress | undefined;
  startTime: string;
  summary?: BatchSummary;
  error?: string;
  done: Promise<void>;
}

/** Runs of this process, by `namespace/name`. */
export class BatchJobRuns {
  readonly runs = new Map<string, Run>();

  /** Stops every run (they resume when the platform starts again). */
  async close(): Promise<void> {
    for (const run of this.runs.values()) run.abort.abort(new Error('platform stopping'));
    await Promise.allSettled([...this.runs.values()].map((r) => r.done));
    this.runs.clear();
  }
}

function filePath(value: string, baseDir: string): string {
  if (value.startsWith('file://')) return fileURLToPath(value);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    throw new NotReadyError(
      'UnsupportedInput',
      `${value}: batch input and output must be local files (path or file://)`,
    );
  }
  return isAbsolute(value) ? value : resolve(baseDir, value);
}

function serviceUrl(spec: BatchJobSpec, addresses: AddressBook, namespace: string): string {
  return /^https?:\/\//.test(spec.inferenceService)
    ? spec.inferenceService.replace(/\/+$/, '')
    : functionUrl(addresses, namespace, spec.inferenceService);
}

function conditions(state: 'running' | 'succeeded' | 'failed', reason: string, message: string) {
  const ready = state === 'running' ? 'Unknown' : state === 'succeeded' ? 'True' : 'False';
  return [
    { type: 'Ready', status: ready, reason, message },
    { type: 'Succeeded', status: ready, reason, message },
    { type: 'Failed', status: state === 'failed' ? 'True' : 'False', reason, message },
  ] as StatusPatch['conditions'];
}

function statusOf(run: Run, output: string): StatusPatch {
  const p = run.progress;
  const patch: StatusPatch = {
    output,
    failedOutput: `${output}.failed.jsonl`,
    startTime: run.startTime,
    ...(p ? { job: p.job, rowsDone: p.doneRows, rowsTotal: p.rows, rowsFailed: p.failedRows, chunks: p.chunks } : {}),
  };
  if (run.summary) {
    const s = run.summary;
    return {
      ...patch,
      job: s.job,
      rowsDone: s.rows,
      rowsTotal: s.rows,
      rowsSucceeded: s.succeeded,
      rowsFailed: s.failed,
      durationMs: s.durationMs,
      completionTime: new Date().toISOString(),
      retry: run.retry,
      conditions: conditions('succeeded', 'Completed', `${s.succeeded} rows scored, ${s.failed} failed`),
    };
  }
  if (run.error !== undefined) {
    return { ...patch, retry: run.retry, conditions: conditions('failed', 'BatchFailed', run.error) };
  }
  const message = p ? `${p.doneRows}/${p.rows} rows` : 'starting';
  return { ...patch, conditions: conditions('running', 'Running', message) };
}

/** Starts, follows or reports the BatchJob's run. */
export async function reconcileBatchJob(
  job: Resource,
  deps: BatchJobReconcilerDeps,
  ctx: ReconcileContext,
): Promise<StatusPatch> {
  const namespace = job.metadata.namespace ?? 'default';
  const key = `${namespace}/${job.metadata.name}`;
  const spec = job.spec as unknown as BatchJobSpec;
  const output = filePath(spec.output, deps.baseDir);
  const generation = job.metadata.generation;
  const retry = job.metadata.annotations?.[RETRY_ANNOTATION];
  const current = deps.runs.runs.get(key);

  if (current && current.summary === undefined && current.error === undefined) {
    ctx.requeueAfter(2000);
    return statusOf(current, output);
  }
  if (current && current.generation === generation && (current.summary || current.retry === retry)) {
    return statusOf(current, output);
  }
  // Nothing in this process: a job that finished for this generation (and retry) is left as its status says.
  const status = job.status as (ResourceStatus & { retry?: string }) | undefined;
  const settled = status?.conditions?.find((c) => c.type === 'Succeeded')?.status;
  if (
    current === undefined &&
    status?.observedGeneration === generation &&
    (settled === 'True' || (settled === 'False' && status?.retry === retry))
  ) {
    return { conditions: (status?.conditions ?? []).filter((c) => ['Ready', 'Succeeded', 'Failed'].includes(c.type)) };
  }

  const run: Run = {
    generation,
    retry,
    abort: new AbortController(),
    progress: undefined,
    startTime: new Date().toISOString(),
    done: Promise.resolve(),
  };
  const options: BatchRunOptions = {
    ...deps.queue,
    concurrency: spec.concurrency ?? DEFAULT_CONCURRENCY,
    signal: run.abort.signal,
    ...(deps.logger ? { logger: deps.logger } : {}),
    onProgress: (p) => {
      run.progress = p;
    },
  };
  const jobDir = new JobDir(jobDirOf(output));
  const manifest = await jobDir.readManifest();
  const unfinished = manifest !== undefined && !manifest.completed;
  const previous = current?.generation ?? status?.observedGeneration;
  const respec = previous !== undefined && previous !== generation;
  // The spec changed after a run that did not finish: its chunks belong to the old spec.
  if (respec && unfinished) await rm(jobDir.dir, { recursive: true, force: true });
  const start =
    unfinished && !respec
      ? () => resumeBatch(output, options)
      : () =>
          submitBatch(
            {
              model: spec.model,
              url: serviceUrl(spec, deps.addresses, namespace),
              input: filePath(spec.input, deps.baseDir),
              output,
              ...(spec.chunkSize ? { chunkSize: spec.chunkSize } : {}),
              ...(spec.sink ? { eventSink: resolveDestination(deps.addresses, spec.sink, namespace) } : {}),
              job: `${namespace}.${job.metadata.name}.${(job.metadata.uid ?? String(Date.now())).slice(0, 8)}`,
            },
            options,
          );
  run.done = start()
    .then(
      (summary) => {
        run.summary = summary;
      },
      (err: unknown) => {
        run.error = err instanceof Error ? err.message : String(err);
      },
    )
    .finally(() => {
      if (deps.runs.runs.get(key) === run && !run.abort.signal.aborted) deps.changed(namespace, job.metadata.name);
    });
  deps.runs.runs.set(key, run);
  ctx.requeueAfter(2000);
  return statusOf(run, output);
}

/** Stops the BatchJob's run; its files stay (resumable with `elastic-serving batch resume <output>`). */
export async function removeBatchJob(job: Resource, deps: Pick<BatchJobReconcilerDeps, 'runs'>): Promise<void> {
  const key = `${job.metadata.namespace ?? 'default'}/${job.metadata.name}`;
  const run = deps.runs.runs.get(key);
  if (!run) return;
  deps.runs.runs.delete(key);
  run.abort.abort(new Error('BatchJob deleted'));
  await run.done;
}
