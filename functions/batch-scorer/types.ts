/**
 * Shapes shared by the batch coordinator, the queues and the workers. A chunk travels through the queue with
 * everything a worker needs (model, URL, rows), so any worker — in the CLI, in the platform, in a scaled
 * batch-scorer replica — can score any job's chunks without reading the job directory.
 */

/** Row identifier: the row's own `id` field when it has one, else its 0-based row index. */
export type RowId = string | number;

/** One input row as read from the file. */
export interface InputRow {
  id: RowId;
  /** The parsed row (JSON value, or a CSV record as an object); the raw line when it could not be parsed. */
  row: unknown;
  /** Set when the line could not be parsed; the row then goes straight to the failed output. */
  error?: string;
}

/**
 * What a worker is asked to score: one chunk of one job. JSONL chunks travel as their raw text and are parsed by
 * the worker (parsing is most of a batch's CPU, and workers scale out); CSV chunks travel parsed.
 */
export interface ChunkTask {
  /** Job id (manifest `job`). */
  job: string;
  /** 0-based chunk index (the chunk's record in the job's chunk log is found by it). */
  chunk: number;
  /** Model name as the model server knows it. */
  model: string;
  /** Base URL of the InferenceService (`{url}/v2/models/{model}/infer` is called). */
  url: string;
  /** JSONL: the chunk's lines as read (blank lines and CRs are dropped by the worker, input.ts `rowsOfText`). */
  text?: string;
  /** JSONL lines, blank lines dropped: how a coordinator of an earlier version sends them. */
  lines?: string[];
  /** Row index of the first line (a row without its own id gets its index). */
  start?: number;
  /** Parsed rows (CSV). */
  rows?: InputRow[];
}

/** A row the model could not score, with the reason. */
export interface FailedRow {
  id: RowId;
  row: unknown;
  error: string;
}

/** A finished chunk: every row of it is in exactly one of the two lists, each in input order. */
export interface ChunkResult {
  chunk: number;
  /** Each scored row as JSON text: `{"id": …, "<output>": value, …}` (tensors.ts `scoredLines`). */
  scored: string[];
  failed: FailedRow[];
}

/**
 * A finished chunk as it travels back to the coordinator: both parts already JSONL text, so the coordinator writes
 * them as they are (no per-row work where there is only one coordinator).
 */
export interface ChunkOutput {
  chunk: number;
  /** Scored rows, one JSON object per line. */
  scored: string;
  /** Failed rows `{id, row, error}`, one per line. */
  failed: string;
  succeeded: number;
  failedRows: number;
}

/**
 * What a worker in the coordinator's own process hands back through the queue: the chunk is already in the job's
 * chunk log, so its rows do not travel through the queue (Redis) a second time.
 */
export interface ChunkReceipt {
  chunk: number;
  persisted: true;
}

/**
 * How a chunk left the queue: scored (maybe with failed rows), already persisted by the coordinator's own worker,
 * or given up on after its attempts (infra failure).
 */
export type ChunkOutcome =
  | { chunk: number; output: ChunkOutput }
  | { chunk: number; receipt: ChunkReceipt }
  | { chunk: number; error: string };

/** Scores one chunk; rejects when the chunk should be retried as a whole (model server unreachable, 503…). */
export type ChunkProcessor = (task: ChunkTask, signal: AbortSignal) => Promise<ChunkOutput | ChunkReceipt>;

export type QueueKind = 'bullmq' | 'in-process';

/** The `dev.elasticserving.batch.completed` event's data. */
export interface BatchCompletedData {
  job: string;
  model: string;
  rows: number;
  succeeded: number;
  failed: number;
  /** Absolute path of the output file. */
  output: string;
  /** Absolute path of the failed-rows file (always written, empty when nothing failed). */
  failedOutput: string;
  durationMs: number;
}

export const BATCH_COMPLETED_TYPE = 'dev.elasticserving.batch.completed';
