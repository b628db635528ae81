/**
 * Scoring one chunk: one v2 infer call with every row of the chunk stacked as `[rows, features]`. When the server
 * refuses that call for a reason that may be a row's fault, the rows are sent one by one so that only the rows it
 * still refuses fail (with its reason). Failures that are not about rows reject, and the queue retries the chunk.
 */
import { getMaxListeners, setMaxListeners } from 'node:events';
import { InferClient, InferError } from './infer-client.ts';
import { taskRows } from './input.ts';
import { type ModelMeta, RowError, rowTensors, scoredLines, stackInputs } from './tensors.ts';
import type { ChunkOutput, ChunkProcessor, ChunkResult, ChunkTask, FailedRow, InputRow } from './types.ts';

export interface ScoreOptions {
  /** Rows sent at once while isolating a failure row by row. @defaultValue 8 */
  isolateConcurrency?: number;
}

interface Prepared {
  index: number;
  row: InputRow;
  tensors: unknown[][];
}

async function inferRows(
  client: InferClient,
  task: ChunkTask,
  meta: ModelMeta,
  rows: readonly Prepared[],
  signal: AbortSignal,
): Promise<string[]> {
  const inputs = stackInputs(
    meta,
    rows.map((r) => r.tensors),
  );
  const id = rows.length === 1 ? `${task.job}/${task.chunk}/${rows[0]!.row.id}` : `${task.job}/${task.chunk}`;
  const outputs = await client.infer(task.url, task.model, id, inputs, signal);
  return scoredLines(
    outputs,
    rows.map((r) => r.row),
  );
}

/** Scores `task` against its model server; rejects (for a retry of the chunk) on failures that are not a row's. */
export async function scoreChunk(
  task: ChunkTask,
  client: InferClient,
  signal: AbortSignal,
  options: ScoreOptions = {},
): Promise<ChunkResult> {
  const meta = await client.metadata(task.url, task.model, signal);
  const rows = taskRows(task);
  const outputs = new Map<number, string>();
  const failed = new Map<number, FailedRow>();
  const ready: Prepared[] = [];
  rows.forEach((row, index) => {
    if (row.error !== undefined) {
      failed.set(index, { id: row.id, row: row.row, error: row.error });
      return;
    }
    try {
      ready.push({ index, row, tensors: rowTensors(row.row, meta) });
    } catch (err) {
      if (!(err instanceof RowError)) throw err;
      failed.set(index, { id: row.id, row: row.row, error: err.message });
    }
  });

  if (ready.length > 0) {
    try {
      const scored = await inferRows(client, task, meta, ready, signal);
      for (const [i, r] of ready.entries()) outputs.set(r.index, scored[i]!);
    } catch (err) {
      if (!(err instanceof InferError && err.rowLevel)) throw err;
      if (ready.length === 1) {
        const only = ready[0]!;
        failed.set(only.index, { id: only.row.id, row: only.row.row, error: err.message });
      } else {
        await isolate(client, task, meta, ready, signal, options.isolateConcurrency ?? 8, outputs, failed);
      }
    }
  }

  const result: ChunkResult = { chunk: task.chunk, scored: [], failed: [] };
  for (let i = 0; i < rows.length; i++) {
    const out = outputs.get(i);
    if (out !== undefined) result.scored.push(out);
    else result.failed.push(failed.get(i)!);
  }
  return result;
}

async function isolate(
  client: InferClient,
  task: ChunkTask,
  meta: ModelMeta,
  rows: readonly Prepared[],
  signal: AbortSignal,
  concurrency: number,
  outputs: Map<number, string>,
  failed: Map<number, FailedRow>,
): Promise<void> {
  // The calls below listen to the task's signal all at once (0 is no limit).
  const max = getMaxListeners(signal);
  if (max !== 0 && max < concurrency + 10) setMaxListeners(concurrency + 10, signal);
  let next = 0;
  const lane = async () => {
    while (next < rows.length) {
      const r = rows[next++]!;
      try {
        const [out] = await inferRows(client, task, meta, [r], signal);
        outputs.set(r.index, out!);
      } catch (err) {
        if (!(err instanceof InferError && err.rowLevel)) throw err;
        failed.set(r.index, { id: r.row.id, row: r.row.row, error: err.message });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, lane));
}

/** A chunk's result as JSONL text, the form it travels back to the coordinator in. */
export function toChunkOutput(result: ChunkResult): ChunkOutput {
  const scored = result.scored.length > 0 ? `${result.scored.join('\n')}\n` : '';
  let failed = '';
  for (const row of result.failed) failed += `${JSON.stringify(row)}\n`;
  return { chunk: result.chunk, scored, failed, succeeded: result.scored.length, failedRows: result.failed.length };
}

/** A ChunkProcessor over one shared client (one keep-alive pool and metadata cache per worker process). */
export function chunkProcessor(client: InferClient = new InferClient(), options: ScoreOptions = {}): ChunkProcessor {
  return async (task, signal) => toChunkOutput(await scoreChunk(task, client, signal, options));
}
