/**
 * Creating, finding and inspecting batch jobs on disk. A job is named by its output file: its state is in
 * `<output>.job/`, so `batch resume out.jsonl` and `batch resume out.jsonl.job` both find it.
 */
import { randomBytes } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ElasticServingError } from '../../services/core/errors.ts';
import { fingerprintInput, formatOf, type InputFormat } from './input.ts';
import { type BatchManifest, failedOutputOf, JobDir, jobDirOf, MANIFEST_VERSION, rowsOfChunk } from './job-dir.ts';
import { queueName } from './registry.ts';
import type { QueueKind } from './types.ts';

export const DEFAULT_CHUNK_SIZE = 256;

/** A new batch job. */
export interface BatchSpec {
  /** Model name on the model server. */
  model: string;
  /** InferenceService base URL (`{url}/v2/models/{model}/infer` is called). */
  url: string;
  /** Input file: JSONL, or CSV with a header row (by extension). */
  input: string;
  /** Output file (JSONL); failed rows go to `<output>.failed.jsonl`. */
  output: string;
  /** Rows per chunk (one infer call, one queue job). @defaultValue 256 */
  chunkSize?: number;
  /** @defaultValue from the input's extension (`.csv` → csv, else jsonl) */
  format?: InputFormat;
  /** Broker ingress URL the completed event is POSTed to. @defaultValue none (no event) */
  eventSink?: string;
  /** Job id (queue name, event source). @defaultValue random */
  job?: string;
}

export class BatchJobError extends ElasticServingError {
  constructor(message: string) {
    super('ES_ERR_BAD_REQUEST', message);
  }
}

const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$/;

/**
 * Writes the manifest of a new job. An unfinished job for the same output is an error (resume it, or delete its
 * directory); a finished one is replaced.
 */
export async function createJob(
  spec: BatchSpec,
  queue: { kind: QueueKind; redis?: string },
): Promise<{ dir: JobDir; manifest: BatchManifest }> {
  const chunkSize = spec.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new BatchJobError(`chunk size must be an integer >= 1`);
  const job = spec.job ?? `b${randomBytes(5).toString('hex')}`;
  if (!JOB_ID.test(job)) throw new BatchJobError(`job id ${JSON.stringify(job)} may use only A-Z a-z 0-9 . _ -`);
  const input = resolve(spec.input);
  const output = resolve(spec.output);
  const dir = new JobDir(jobDirOf(output));
  const existing = await dir.readManifest();
  if (existing && !existing.completed) {
    throw new BatchJobError(
      `an unfinished batch (${existing.job}) already writes ${output}: run \`elastic-serving batch resume ${spec.output}\`, or delete ${dir.dir} to start over`,
    );
  }
  if (existing) await rm(dir.dir, { recursive: true, force: true });
  const format = spec.format ?? formatOf(input);
  const fingerprint = await fingerprintInput(input, format).catch((err: NodeJS.ErrnoException) => {
    throw new BatchJobError(err.code === 'ENOENT' ? `input ${input} does not exist` : `input ${input}: ${err.message}`);
  });
  const manifest: BatchManifest = {
    version: MANIFEST_VERSION,
    job,
    input: { path: input, format, ...fingerprint },
    output,
    failedOutput: failedOutputOf(output),
    model: spec.model,
    url: spec.url.replace(/\/+$/, ''),
    chunkSize,
    chunks: Math.ceil(fingerprint.rows / chunkSize),
    queue: { kind: queue.kind, name: queueName(job), ...(queue.redis ? { redis: queue.redis } : {}) },
    ...(spec.eventSink ? { eventSink: spec.eventSink } : {}),
    createdAt: new Date().toISOString(),
  };
  await dir.writeManifest(manifest);
  return { dir, manifest };
}

/** The job directory of `target`: an output file, or a `.job` directory. */
export async function jobDirFor(target: string): Promise<JobDir> {
  const path = resolve(target);
  const isDir = await stat(path)
    .then((s) => s.isDirectory())
    .catch(() => false);
  return new JobDir(isDir && path.endsWith('.job') ? path : jobDirOf(path));
}

/** Loads a job to resume it; refuses when its input changed since it was submitted. */
export async function openJob(target: string): Promise<{ dir: JobDir; manifest: BatchManifest }> {
  const dir = await jobDirFor(target);
  const manifest = await dir.readManifest();
  if (!manifest) throw new BatchJobError(`no batch job at ${dir.dir} (nothing to resume)`);
  if (!manifest.completed) {
    const now = await fingerprintInput(manifest.input.path, manifest.input.format).catch(
      (err: NodeJS.ErrnoException) => {
        throw new BatchJobError(`input ${manifest.input.path} of batch ${manifest.job}: ${err.message}`);
      },
    );
    if (now.sha256 !== manifest.input.sha256) {
      throw new BatchJobError(
        `input ${manifest.input.path} changed since batch ${manifest.job} was submitted (SHA-256 differs); its chunks no longer line up — delete ${dir.dir} and submit again`,
      );
    }
  }
  return { dir, manifest };
}

/** What `batch status` shows. */
export interface JobStatus {
  manifest: BatchManifest;
  state: 'completed' | 'running' | 'stopped';
  /** Process running the job, when `state` is running. */
  pid?: number;
  doneChunks: number;
  doneRows: number;
}

export async function jobStatus(target: string): Promise<JobStatus> {
  const dir = await jobDirFor(target);
  const manifest = await dir.readManifest();
  if (!manifest) throw new BatchJobError(`no batch job at ${dir.dir}`);
  if (manifest.completed) {
    return { manifest, state: 'completed', doneChunks: manifest.chunks, doneRows: manifest.completed.rows };
  }
  const done = await dir.doneChunks();
  const doneRows = [...done].reduce((sum, c) => sum + rowsOfChunk(manifest, c), 0);
  const pid = await dir.runner();
  return {
    manifest,
    state: pid === undefined ? 'stopped' : 'running',
    ...(pid === undefined ? {} : { pid }),
    doneChunks: done.size,
    doneRows,
  };
}
