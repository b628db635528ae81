/**
 * Reading a batch input: JSONL (one JSON value per line) or CSV with a header row. Rows are numbered from 0 in
 * file order, blank lines not counted; a row's id is its own `id` field when it is a string or a number, else
 * that number. A JSONL line that is not JSON is still a row (it goes to the failed output with the parse error),
 * so every row of the file is accounted for.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { parse } from 'csv-parse';
import type { InputRow, RowId } from './types.ts';

export type InputFormat = 'jsonl' | 'csv';

/** `.csv` (any case) is CSV; everything else (`.jsonl`, `.ndjson`, `.json`, no extension) is JSONL. */
export function formatOf(path: string): InputFormat {
  return extname(path).toLowerCase() === '.csv' ? 'csv' : 'jsonl';
}

/** What the manifest records about the input, to refuse resuming against a file that changed. */
export interface InputFingerprint {
  size: number;
  mtimeMs: number;
  sha256: string;
  rows: number;
}

/** Non-blank lines of a UTF-8 file, without their line ends. */
export async function* readLines(path: string, onBytes?: (buf: Buffer) => void): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const buf of createReadStream(path, { highWaterMark: 1 << 20 })) {
    onBytes?.(buf as Buffer);
    const text = rest + decoder.write(buf as Buffer);
    let start = 0;
    for (let nl = text.indexOf('\n', start); nl !== -1; nl = text.indexOf('\n', start)) {
      const line = text.charCodeAt(nl - 1) === 13 ? text.slice(start, nl - 1) : text.slice(start, nl);
      start = nl + 1;
      if (line.trim() !== '') yield line;
    }
    rest = text.slice(start);
  }
  rest += decoder.end();
  if (rest.trim() !== '') yield rest.endsWith('\r') ? rest.slice(0, -1) : rest;
}

/** The row's `id` field when it is a usable id, else `index`. */
export function rowId(row: unknown, index: number): RowId {
  if (typeof row === 'object' && row !== null && !Array.isArray(row)) {
    const id = (row as { id?: unknown }).id;
    if (typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id))) return id;
  }
  return index;
}

/** Row `index` of a JSONL file from its line; a line that is not JSON is a row that fails with the reason. */
export function parseJsonlRow(line: string, index: number): InputRow {
  let row: unknown;
  try {
    row = JSON.parse(line);
  } catch (err) {
    return { id: index, row: line, error: `row is not valid JSON: ${(err as Error).message}` };
  }
  return { id: rowId(row, index), row };
}

async function* jsonlRows(path: string): AsyncGenerator<InputRow> {
  let index = 0;
  for await (const line of readLines(path)) yield parseJsonlRow(line, index++);
}

async function* csvRows(path: string): AsyncGenerator<InputRow> {
  // `cast` turns numeric cells into numbers; ragged records are kept (they fail at feature extraction, as rows).
  const parser = createReadStream(path).pipe(
    parse({ columns: true, bom: true, cast: true, skip_empty_lines: true, relax_column_count: true, trim: true }),
  );
  let index = 0;
  for await (const record of parser as AsyncIterable<Record<string, unknown>>) {
    yield { id: rowId(record, index), row: record };
    index++;
  }
}

/** Every row of the input, in file order. */
export function readRows(path: string, format: InputFormat = formatOf(path)): AsyncGenerator<InputRow> {
  return format === 'csv' ? csvRows(path) : jsonlRows(path);
}

/** Rows grouped `size` at a time (the last chunk may be shorter), numbered from 0. */
export async function* chunksOf(
  rows: AsyncIterable<InputRow>,
  size: number,
): AsyncGenerator<{ chunk: number; rows: InputRow[] }> {
  let chunk = 0;
  let rowsOfChunk: InputRow[] = [];
  for await (const row of rows) {
    rowsOfChunk.push(row);
    if (rowsOfChunk.length === size) {
      yield { chunk: chunk++, rows: rowsOfChunk };
      rowsOfChunk = [];
    }
  }
  if (rowsOfChunk.length > 0) yield { chunk, rows: rowsOfChunk };
}

/** One chunk of the input as the queue carries it: JSONL as raw lines (workers parse them), CSV as rows. */
export interface InputChunk {
  chunk: number;
  /** Row index of the chunk's first row. */
  start: number;
  lines?: string[];
  rows?: InputRow[];
}

/** The input's chunks of `size` rows, in order. */
export async function* readChunks(path: string, format: InputFormat, size: number): AsyncGenerator<InputChunk> {
  if (format === 'csv') {
    for await (const { chunk, rows } of chunksOf(csvRows(path), size)) yield { chunk, start: chunk * size, rows };
    return;
  }
  let chunk = 0;
  let lines: string[] = [];
  for await (const line of readLines(path)) {
    lines.push(line);
    if (lines.length === size) {
      yield { chunk, start: chunk * size, lines };
      chunk++;
      lines = [];
    }
  }
  if (lines.length > 0) yield { chunk, start: chunk * size, lines };
}

/** The rows of a chunk task, parsing raw lines. */
export function taskRows(task: { lines?: string[]; rows?: InputRow[]; start?: number }): InputRow[] {
  if (task.rows) return task.rows;
  const start = task.start ?? 0;
  return (task.lines ?? []).map((line, i) => parseJsonlRow(line, start + i));
}

/** Size, mtime, SHA-256 and row count of the input, in one read (CSV is parsed to count records). */
export async function fingerprintInput(path: string, format: InputFormat = formatOf(path)): Promise<InputFingerprint> {
  const info = await stat(path);
  const hash = createHash('sha256');
  let rows = 0;
  if (format === 'jsonl') {
    for await (const _ of readLines(path, (buf) => hash.update(buf))) rows++;
  } else {
    for await (const buf of createReadStream(path)) hash.update(buf as Buffer);
    for await (const _ of csvRows(path)) rows++;
  }
  return { size: info.size, mtimeMs: info.mtimeMs, sha256: hash.digest('hex'), rows };
}
