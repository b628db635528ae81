/**
 * A batch job's chunk log, `<output>.job/chunks.log`: one append-only file holding every finished chunk's rows,
 * the record `batch resume` trusts. A record is a header line followed by the chunk's bytes:
 *
 *   {"chunk":12,"scored":255,"failed":1,"scoredBytes":20480,"failedBytes":97,"crc32":3735928559}\n
 *   <scored rows, JSONL><failed rows, JSONL>
 *
 * One log rather than a file per chunk: creating a file costs about a millisecond of kernel time on a small VM,
 * as much as scoring the chunk. A record is written (one positioned write, no user-space buffer) as soon as its
 * chunk is scored, so a kill -9 loses nothing already appended; the log is fdatasync'ed in the background every
 * `syncIntervalMs`, so an OS crash loses at most that much, which is then scored again. Reading the log back stops
 * at the first record that is cut short, fails its checksum or does not hold its chunk's rows: that tail is cut
 * off and its chunks are scored again. A chunk recorded twice (scored again after its worker stalled) counts once:
 * its first record is the one assembled.
 */
import { constants, type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { syncDir } from '../../services/controller/atomic-file.ts';

/** A finished chunk's rows as bytes: what is logged and assembled. */
export interface ChunkBytes {
  chunk: number;
  /** Scored rows, JSONL. */
  scored: Buffer;
  /** Failed rows `{id, row, error}`, JSONL. */
  failed: Buffer;
  succeeded: number;
  failedRows: number;
}

/** Where a chunk's rows are in the log. */
export interface LogRecord {
  chunk: number;
  succeeded: number;
  failedRows: number;
  /** Byte offset of the scored rows; the failed rows follow them. */
  offset: number;
  scoredBytes: number;
  failedBytes: number;
}

export interface LogScan {
  /** The first record of each chunk. */
  records: Map<number, LogRecord>;
  /** Records of a chunk recorded before, ignored. */
  duplicates: number;
  /** Where the last whole record ends; what follows is a torn or damaged tail. */
  end: number;
  /** Size of the file. */
  size: number;
}

export interface ScanOptions {
  /** Read every record's bytes and check its checksum and line counts (else headers only). @defaultValue true */
  verify?: boolean;
  /** A record the job cannot have (e.g. the wrong number of rows for its chunk) ends the valid part. @defaultValue all */
  accept?: (record: LogRecord) => boolean;
}

export interface ChunkLogOptions extends Omit<ScanOptions, 'verify'> {
  /**
   * How often appended records are fdatasync'ed in the background; 0 syncs each append before it resolves.
   * @defaultValue 2000
   */
  syncIntervalMs?: number;
}

/** A header line is a few dozen bytes; anything longer without a newline is not a header. */
const MAX_HEADER = 512;

interface Header {
  chunk: number;
  scored: number;
  failed: number;
  scoredBytes: number;
  failedBytes: number;
  crc32: number;
}

function parseHeader(text: string): Header | undefined {
  let h: Partial<Record<keyof Header, unknown>>;
  try {
    h = JSON.parse(text) as typeof h;
  } catch {
    return undefined;
  }
  const fields = ['chunk', 'scored', 'failed', 'scoredBytes', 'failedBytes', 'crc32'] as const;
  for (const f of fields) if (!Number.isSafeInteger(h?.[f]) || (h[f] as number) < 0) return undefined;
  return h as Header;
}

/** Lines in `buf` [from, to): newlines, and the bytes must end with one. */
function lines(buf: Buffer, from: number, to: number): number | undefined {
  if (from === to) return 0;
  if (buf[to - 1] !== 0x0a) return undefined;
  let n = 0;
  for (let i = buf.indexOf(0x0a, from); i !== -1 && i < to; i = buf.indexOf(0x0a, i + 1)) n++;
  return n;
}

async function readAt(file: FileHandle, length: number, position: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await file.read(buf, done, length - done, position + done);
    if (bytesRead === 0) return buf.subarray(0, done);
    done += bytesRead;
  }
  return buf;
}

async function scanFile(file: FileHandle, options: ScanOptions): Promise<LogScan> {
  const verify = options.verify ?? true;
  const { size } = await file.stat();
  const records = new Map<number, LogRecord>();
  let duplicates = 0;
  let pos = 0;
  while (pos < size) {
    const head = await readAt(file, Math.min(MAX_HEADER, size - pos), pos);
    const nl = head.indexOf(0x0a);
    const h = nl === -1 ? undefined : parseHeader(head.toString('utf8', 0, nl));
    if (!h) break;
    const offset = pos + nl + 1;
    const end = offset + h.scoredBytes + h.failedBytes;
    if (end > size) break;
    if (verify) {
      const body = await readAt(file, end - offset, offset);
      if (body.length !== end - offset || crc32(body) !== h.crc32) break;
      if (lines(body, 0, h.scoredBytes) !== h.scored || lines(body, h.scoredBytes, body.length) !== h.failed) break;
    }
    const record: LogRecord = {
      chunk: h.chunk,
      succeeded: h.scored,
      failedRows: h.failed,
      offset,
      scoredBytes: h.scoredBytes,
      failedBytes: h.failedBytes,
    };
    if (options.accept && !options.accept(record)) break;
    if (records.has(h.chunk)) duplicates++;
    else records.set(h.chunk, record);
    pos = end;
  }
  return { records, duplicates, end: pos, size };
}

/** Reads a log without changing it (e.g. `batch status` beside a running job); a missing log is empty. */
export async function scanLog(path: string, options: ScanOptions = {}): Promise<LogScan> {
  let file: FileHandle;
  try {
    file = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: new Map(), duplicates: 0, end: 0, size: 0 };
    throw err;
  }
  try {
    return await scanFile(file, options);
  } finally {
    await file.close();
  }
}

interface PendingAppend {
  data: ChunkBytes;
  header: Buffer;
  resolve: (record: LogRecord) => void;
  reject: (err: unknown) => void;
}

/** The log of a job, open for appending by the one process that holds the job's lock. */
export class ChunkLog {
  readonly path: string;
  readonly #file: FileHandle;
  readonly #syncEach: boolean;
  readonly #timer: NodeJS.Timeout | undefined;
  #end: number;
  #pending: PendingAppend[] = [];
  #writing: Promise<void> | undefined;
  #dirty = false;
  #syncing: Promise<void> | undefined;
  #failed: unknown;
  #closing: Promise<void> | undefined;

  private constructor(path: string, file: FileHandle, end: number, syncIntervalMs: number) {
    this.path = path;
    this.#file = file;
    this.#end = end;
    this.#syncEach = syncIntervalMs <= 0;
    if (!this.#syncEach) {
      this.#timer = setInterval(() => void this.#syncNow(), syncIntervalMs);
      this.#timer.unref();
    }
  }

  /**
   * Opens (creating) the log at `path`, reads it back and cuts off a torn or damaged tail. Resolves with the log
   * and what it holds.
   */
  static async open(path: string, options: ChunkLogOptions = {}): Promise<{ log: ChunkLog; scan: LogScan }> {
    const file = await open(path, constants.O_RDWR | constants.O_CREAT, 0o644);
    try {
      const scan = await scanFile(file, { verify: true, ...(options.accept ? { accept: options.accept } : {}) });
      if (scan.size === 0) await syncDir(dirname(path));
      else if (scan.end < scan.size) {
        await file.truncate(scan.end);
        await file.datasync();
      }
      return { log: new ChunkLog(path, file, scan.end, options.syncIntervalMs ?? 2000), scan };
    } catch (err) {
      await file.close();
      throw err;
    }
  }

  /**
   * Appends a chunk's record; resolves once it is written (and, with `syncIntervalMs` 0, on disk). Appends made
   * while a write is under way go out together in the next one.
   */
  append(data: ChunkBytes): Promise<LogRecord> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    const header = Buffer.from(
      `${JSON.stringify({
        chunk: data.chunk,
        scored: data.succeeded,
        failed: data.failedRows,
        scoredBytes: data.scored.length,
        failedBytes: data.failed.length,
        crc32: crc32(data.failed, crc32(data.scored)),
      })}\n`,
    );
    return new Promise((resolve, reject) => {
      this.#pending.push({ data, header, resolve, reject });
      this.#writing ??= this.#flush();
    });
  }

  async #flush(): Promise<void> {
    while (this.#pending.length > 0 && this.#failed === undefined) {
      const batch = this.#pending.splice(0);
      const buffers: Buffer[] = [];
      const records: LogRecord[] = [];
      let at = this.#end;
      for (const { data, header } of batch) {
        records.push({
          chunk: data.chunk,
          succeeded: data.succeeded,
          failedRows: data.failedRows,
          offset: at + header.length,
          scoredBytes: data.scored.length,
          failedBytes: data.failed.length,
        });
        buffers.push(header, data.scored, data.failed);
        at += header.length + data.scored.length + data.failed.length;
      }
      try {
        const { bytesWritten } = await this.#file.writev(buffers, this.#end);
        if (bytesWritten !== at - this.#end) throw new Error(`short write to ${this.path}`);
        if (this.#syncEach) await this.#file.datasync();
      } catch (err) {
        // Nothing after a failed write is trusted: what it left is cut off, and every later append fails too.
        this.#failed = err;
        await this.#file.truncate(this.#end).catch(() => undefined);
        for (const p of [...batch, ...this.#pending.splice(0)]) p.reject(err);
        break;
      }
      this.#end = at;
      this.#dirty = !this.#syncEach;
      for (const [i, p] of batch.entries()) p.resolve(records[i]!);
    }
    this.#writing = undefined;
  }

  #syncNow(): Promise<void> {
    if (!this.#dirty || this.#syncing) return this.#syncing ?? Promise.resolve();
    this.#dirty = false;
    this.#syncing = this.#file
      .datasync()
      .catch(() => {
        this.#dirty = true;
      })
      .finally(() => {
        this.#syncing = undefined;
      });
    return this.#syncing;
  }

  /** A logged chunk's rows. */
  async read(record: LogRecord): Promise<ChunkBytes> {
    const body = await readAt(this.#file, record.scoredBytes + record.failedBytes, record.offset);
    return {
      chunk: record.chunk,
      scored: body.subarray(0, record.scoredBytes),
      failed: body.subarray(record.scoredBytes),
      succeeded: record.succeeded,
      failedRows: record.failedRows,
    };
  }

  /**
   * Waits for the writes under way, syncs what is not on disk yet (unless the log is about to be deleted:
   * `sync` false), and closes the file; later calls wait for the first.
   */
  close(sync = true): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#timer) clearInterval(this.#timer);
      await this.#writing;
      await this.#syncing;
      if (sync && this.#dirty) await this.#file.datasync().catch(() => undefined);
      await this.#file.close();
    })();
    return this.#closing;
  }
}
