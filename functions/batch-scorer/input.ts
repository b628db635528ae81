/**
 * Reading a batch input: JSONL (one JSON value per line) or CSV with a header row. Rows are numbered from 0 in
 * file order, blank lines (nothing but spaces, tabs, CRs) not counted; a row's id is its own `id` field when it is a string or a number, else
 * that number. A JSONL line that is not JSON is still a row (it goes to the failed output with the parse error),
 * so every row of the file is accounted for.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
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

const NL = 0x0a;

/** Whether bytes [from, to) hold more than spaces, tabs and CRs: a blank line is not a row. */
function hasContent(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const b = buf[i];
    if (b !== 0x20 && b !== 0x09 && b !== 0x0d) return true;
  }
  return false;
}

/** The string form of the same rule, for lines a worker splits out of a chunk's text. */
function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}

/** A run of JSONL rows as read: `rows` rows, the first being row `start`; `text` holds their lines. */
interface JsonlRun {
  chunk: number;
  start: number;
  rows: number;
  /** The bytes from the run's first row to its last, decoded; blank lines and CRs inside are left to rowsOfText. */
  text?: string;
}

/**
 * Scans a JSONL file on bytes, `size` rows at a time (a UTF-8 BOM at its start skipped). Lines are found with
 * `indexOf` on each read buffer and a chunk's text is decoded in one piece, never line by line: reading a file of
 * a hundred thousand rows this way costs a few milliseconds rather than a string and a generator step per line.
 */
async function* scanJsonl(
  path: string,
  size: number,
  withText: boolean,
  onBytes?: (buf: Buffer) => void,
): AsyncGenerator<JsonlRun> {
  let carry: Buffer | undefined;
  let first = true;
  let chunk = 0;
  let rows = 0;
  let parts: string[] = [];
  /** Where the open chunk's text begins in the current buffer (-1: no row of it in this buffer yet). */
  let begin = -1;
  const run = (text: string | undefined): JsonlRun => {
    const r: JsonlRun = { chunk, start: chunk * size, rows, ...(withText ? { text } : {}) };
    chunk++;
    rows = 0;
    parts = [];
    begin = -1;
    return r;
  };
  for await (const read of createReadStream(path, { highWaterMark: 1 << 20 })) {
    onBytes?.(read as Buffer);
    const data: Buffer = carry ? Buffer.concat([carry, read as Buffer]) : (read as Buffer);
    let pos = 0;
    if (first) {
      first = false;
      if (data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) pos = 3;
    }
    for (let nl = data.indexOf(NL, pos); nl !== -1; nl = data.indexOf(NL, pos)) {
      if (hasContent(data, pos, nl)) {
        if (begin < 0) begin = pos;
        if (++rows === size) yield run(withText ? parts.join('') + data.toString('utf8', begin, nl) : undefined);
      }
      pos = nl + 1;
    }
    if (begin >= 0) {
      // The open chunk goes on in the next buffer, which starts with this one's unfinished line.
      if (withText) parts.push(data.toString('utf8', begin, pos));
      begin = 0;
    }
    carry = pos < data.length ? data.subarray(pos) : undefined;
  }
  if (first) return; // empty file
  if (carry && hasContent(carry, 0, carry.length)) {
    if (begin < 0) begin = 0;
    rows++;
    yield run(withText ? parts.join('') + carry.toString('utf8', begin) : undefined);
  } else if (rows > 0) {
    yield run(withText ? parts.join('').replace(/\n$/, '') : undefined);
  }
}

/**
 * The rows of a JSONL chunk's text, numbered from `start`: one per line that is not blank (only spaces, tabs,
 * CRs), a line's final CR dropped.
 */
export function rowsOfText(text: string, start: number): InputRow[] {
  const rows: InputRow[] = [];
  let index = start;
  for (const raw of text.split('\n')) {
    if (isBlank(raw)) continue;
    const line = raw.charCodeAt(raw.length - 1) === 0x0d ? raw.slice(0, -1) : raw;
    rows.push(parseJsonlRow(line, index++));
  }
  return rows;
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
  for await (const { text, start } of scanJsonl(path, 1024, true)) yield* rowsOfText(text!, start);
}

async function* csvRows(path: string): AsyncGenerator<InputRow> {
  // Loaded here: a JSONL batch (and every other CLI command) need not load the CSV parser.
  const { parse } = await import('csv-parse');
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

/** One chunk of the input as the queue carries it: JSONL as text (workers parse it), CSV as rows. */
export interface InputChunk {
  chunk: number;
  /** Row index of the chunk's first row. */
  start: number;
  /** JSONL: the chunk's lines (rowsOfText). */
  text?: string;
  rows?: InputRow[];
}

/** The input's chunks of `size` rows, in order. */
export async function* readChunks(path: string, format: InputFormat, size: number): AsyncGenerator<InputChunk> {
  if (format === 'csv') {
    for await (const { chunk, rows } of chunksOf(csvRows(path), size)) yield { chunk, start: chunk * size, rows };
    return;
  }
  for await (const { chunk, start, text } of scanJsonl(path, size, true)) yield { chunk, start, text: text! };
}

/** The rows of a chunk task: CSV rows as they are, JSONL text parsed (`lines` from workers of an older version). */
export function taskRows(task: { text?: string; lines?: string[]; rows?: InputRow[]; start?: number }): InputRow[] {
  if (task.rows) return task.rows;
  const start = task.start ?? 0;
  if (task.text !== undefined) return rowsOfText(task.text, start);
  return (task.lines ?? []).map((line, i) => parseJsonlRow(line, start + i));
}

/** Size, mtime, SHA-256 and row count of the input, in one read (CSV is parsed to count records). */
export async function fingerprintInput(path: string, format: InputFormat = formatOf(path)): Promise<InputFingerprint> {
  const info = await stat(path);
  const hash = createHash('sha256');
  let rows = 0;
  if (format === 'jsonl') {
    for await (const run of scanJsonl(path, Number.MAX_SAFE_INTEGER, false, (buf) => hash.update(buf)))
      rows += run.rows;
  } else {
    for await (const buf of createReadStream(path)) hash.update(buf as Buffer);
    for await (const _ of csvRows(path)) rows++;
  }
  return { size: info.size, mtimeMs: info.mtimeMs, sha256: hash.digest('hex'), rows };
}
