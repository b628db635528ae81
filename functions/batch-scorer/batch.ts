/**
 * Submitting and resuming batch jobs: what the CLI and the BatchJob reconciler call. Picks the queue, writes or
 * checks the manifest, and runs the coordinator with local workers.
 */
import { type BatchSummary, type RunOptions, runBatch } from './coordinator.ts';
import { InferClient, type InferClientOptions } from './infer-client.ts';
import type { BatchManifest } from './job-dir.ts';
import { type BatchSpec, createJob, openJob } from './jobs.ts';
import { openQueueBackend, type QueueBackend, type QueueBackendOptions } from './queue-choice.ts';
import { chunkProcessor } from './score.ts';

export const DEFAULT_CONCURRENCY = 8;

/** What a run tells its caller before the first chunk. */
export interface BatchStartInfo {
  manifest: BatchManifest;
  resumed: boolean;
  /** False for the in-process queue: queued work dies with the process. */
  durable: boolean;
  /** Why this queue (e.g. Redis not reachable). */
  queueReason: string;
}

export interface BatchRunOptions
  extends QueueBackendOptions,
    Pick<RunOptions, 'onProgress' | 'logger' | 'signal' | 'maxQueuedChunks' | 'sweepMs' | 'syncIntervalMs'> {
  /** Chunks this process scores at once; 0 = none (other workers, e.g. a scaled batch-scorer Function). @defaultValue 8 */
  concurrency?: number;
  /** Model server client settings. @defaultValue InferClient defaults */
  infer?: InferClientOptions;
  /** An open queue backend to use instead of opening one (the caller closes it). @defaultValue opened per run */
  backend?: QueueBackend;
  onStart?: (info: BatchStartInfo) => void;
}

async function run(
  manifest: BatchManifest,
  dir: Awaited<ReturnType<typeof openJob>>['dir'],
  backend: QueueBackend,
  resumed: boolean,
  options: BatchRunOptions,
  update?: RunOptions['update'],
): Promise<BatchSummary> {
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  return runBatch(dir, manifest, {
    ...(update ? { update } : {}),
    onStart: (m) =>
      options.onStart?.({ manifest: m, resumed, durable: backend.kind === 'bullmq', queueReason: backend.reason }),
    openQueue: (m) => backend.open(m.job, m.queue.name),
    ...(concurrency > 0 ? { workers: { processor: chunkProcessor(new InferClient(options.infer)), concurrency } } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.maxQueuedChunks !== undefined ? { maxQueuedChunks: options.maxQueuedChunks } : {}),
    ...(options.sweepMs !== undefined ? { sweepMs: options.sweepMs } : {}),
    ...(options.syncIntervalMs !== undefined ? { syncIntervalMs: options.syncIntervalMs } : {}),
  });
}

async function withBackend<T>(
  options: BatchRunOptions,
  mode: QueueBackendOptions['mode'],
  redisUrl: string | undefined,
  body: (backend: QueueBackend) => Promise<T>,
): Promise<T> {
  if (options.backend) return body(options.backend);
  const backend = await openQueueBackend({
    ...options,
    ...(mode ? { mode } : {}),
    ...(redisUrl ? { redisUrl } : {}),
  });
  try {
    return await body(backend);
  } finally {
    await backend.close();
  }
}

/** Creates a job for `spec` and runs it to the end. */
export function submitBatch(spec: BatchSpec, options: BatchRunOptions = {}): Promise<BatchSummary> {
  return withBackend(options, options.mode, options.redisUrl, async (backend) => {
    const { dir, manifest } = await createJob(spec, {
      kind: backend.kind,
      ...(backend.redis ? { redis: backend.redis } : {}),
    });
    return run(manifest, dir, backend, false, options);
  });
}

/**
 * Resumes the job of `target` (its output file or job directory) on the queue it was submitted with, unless
 * `options.mode` says otherwise; chunks already written are kept, chunks still queued are not queued again.
 */
export async function resumeBatch(
  target: string,
  options: BatchRunOptions & {
    /** Score the rest on this InferenceService URL instead of the one the job was submitted with. */
    url?: string;
  } = {},
): Promise<BatchSummary> {
  const { dir, manifest } = await openJob(target);
  const url = options.url?.replace(/\/+$/, '');
  const saved = manifest.queue.redis && !manifest.queue.redis.includes('***') ? manifest.queue.redis : undefined;
  return withBackend(options, options.mode ?? manifest.queue.kind, options.redisUrl ?? saved, (backend) =>
    // Changes to the manifest are made under the job's lock (runBatch), never beside a live run.
    run(manifest, dir, backend, true, options, (m) => {
      if (m.completed) return m;
      let next = m;
      if (url && url !== m.url) next = { ...next, url };
      if (backend.kind !== m.queue.kind) {
        next = {
          ...next,
          queue: { ...m.queue, kind: backend.kind, ...(backend.redis ? { redis: backend.redis } : {}) },
        };
      }
      return next;
    }),
  );
}
