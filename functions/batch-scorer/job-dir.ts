/**
 * A batch job's state on disk, `<output>.job/`:
 * - `manifest.json` — what the job is (input fingerprint, model, URL, chunking, queue), and once done its counts;
 * - `chunks/NNNNNN.jsonl` (+ `NNNNNN.failed.jsonl` when the chunk has failed rows) — one chunk's scored and
 *   failed rows, written as soon as the chunk finishes, each by tmp + rename; the failed file is written first,
 *   so a chunk's `.jsonl` is the mark that the chunk is done and both files are whole;
 * - `lock.json` — the process running the job; a second coordinator refuses to run beside a live one.
 * The final output is the chunk files concatenated in chunk order, so it keeps input order and ids.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { syncDir } from '../../services/controller/atomic-file.ts';
import { ElasticServingError } from '../../services/core/errors.ts';
import type { InputFingerprint, InputFormat } from './input.ts';
import type { ChunkOutput, QueueKind } from './types.ts';

export const MANIFEST_VERSION = 1;

export interface BatchManifest {
  version: number;
  job: string;
  input: InputFingerprint & { path: string; format: InputFormat };
  output: string;
  failedOutput: string;
  model: string;
  /** InferenceService base URL. */
  url: string;
  chunkSize: number;
  chunks: number;
  queue: { kind: QueueKind; name: string /** Redis URL without credentials. */; redis?: string };
  /** Where the completed event is POSTed (a broker ingress URL). */
  eventSink?: string;
  createdAt: string;
  completed?: { at: string; rows: number; succeeded: number; failed: number; durationMs: number };
}

/** Another live process runs this job. */
export class BatchBusyError extends ElasticServingError {
  constructor(message: string) {
    super('ES_ERR_CONFLICT', message);
  }
}

export function jobDirOf(output: string): string {
  return `${output}.job`;
}

/** `<output>.failed.jsonl`, beside the output like the job directory. */
export function failedOutputOf(output: string): string {
  return `${output}.failed.jsonl`;
}

/** Rows in chunk `chunk` (every chunk is full but the last). */
export function rowsOfChunk(manifest: Pick<BatchManifest, 'chunkSize' | 'input'>, chunk: number): number {
  return Math.max(0, Math.min(manifest.chunkSize, manifest.input.rows - chunk * manifest.chunkSize));
}

const TRASH_PREFIX = 'chunks.done-';
const CHUNK_FILE = /^(\d{6,})\.jsonl$/;
const pad = (chunk: number) => String(chunk).padStart(6, '0');

/** Writes `data` to `path` by tmp + rename, so readers see the old file or the whole new one. */
export async function writeAtomic(path: string, data: string, sync: boolean): Promise<void> {
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    if (sync) {
      const file = await open(temp, 'w', 0o644);
      try {
        await file.writeFile(data);
        await file.sync();
      } finally {
        await file.close();
      }
    } else {
      // Without fsync, one call (open, write, close in the thread pool) keeps the event loop free for scoring.
      await writeFile(temp, data, { mode: 0o644 });
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

export class JobDir {
  readonly dir: string;
  readonly chunksDir: string;
  /** fsync each chunk file (survives an OS crash, not only a process crash). */
  readonly #sync: boolean;

  constructor(dir: string, options: { sync?: boolean } = {}) {
    this.dir = dir;
    this.chunksDir = join(dir, 'chunks');
    this.#sync = options.sync ?? false;
  }

  get manifestPath(): string {
    return join(this.dir, 'manifest.json');
  }

  async readManifest(): Promise<BatchManifest | undefined> {
    let text: string;
    try {
      text = await readFile(this.manifestPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const manifest = JSON.parse(text) as BatchManifest;
    if (manifest.version !== MANIFEST_VERSION) {
      throw new ElasticServingError('ES_ERR_BAD_REQUEST', `${this.manifestPath}: unknown manifest version`);
    }
    return manifest;
  }

  async writeManifest(manifest: BatchManifest): Promise<void> {
    await mkdir(this.chunksDir, { recursive: true });
    await writeAtomic(this.manifestPath, `${JSON.stringify(manifest, null, 2)}\n`, true);
    await syncDir(this.dir);
  }

  /** Indexes of chunks whose output is on disk. */
  async doneChunks(): Promise<Set<number>> {
    let names: string[];
    try {
      names = await readdir(this.chunksDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
      throw err;
    }
    const done = new Set<number>();
    for (const name of names) {
      const m = CHUNK_FILE.exec(name);
      if (m) done.add(Number(m[1]));
    }
    return done;
  }

  /**
   * Persists a finished chunk: its failed rows first (only when it has some), then its scored rows, the chunk's
   * done mark.
   */
  async writeChunk(output: ChunkOutput): Promise<void> {
    const base = join(this.chunksDir, pad(output.chunk));
    if (output.failed !== '') await writeAtomic(`${base}.failed.jsonl`, output.failed, this.#sync);
    await writeAtomic(`${base}.jsonl`, output.scored, this.#sync);
  }

  /**
   * The written chunks whose files hold exactly the chunk's rows, and their failed rows in all. A chunk file that
   * is short (an OS crash after the rename but before its data reached the disk; chunk files are not fsynced) is
   * removed, so the chunk is scored again rather than losing rows.
   */
  async checkedChunks(
    manifest: Pick<BatchManifest, 'chunkSize' | 'input'>,
  ): Promise<{ done: Set<number>; failedRows: number }> {
    const done = await this.doneChunks();
    let failedRows = 0;
    for (const chunk of done) {
      const base = join(this.chunksDir, pad(chunk));
      const scored = countLines(await readFile(`${base}.jsonl`));
      const failed = countLines(await readFile(`${base}.failed.jsonl`).catch(() => Buffer.alloc(0)));
      if (scored + failed === rowsOfChunk(manifest, chunk)) {
        failedRows += failed;
        continue;
      }
      await rm(`${base}.jsonl`, { force: true });
      await rm(`${base}.failed.jsonl`, { force: true });
      done.delete(chunk);
    }
    return { done, failedRows };
  }

  /**
   * Drops the chunk files once the final output and the completed manifest are written: the directory is renamed
   * away at once and deleted in the background (hundreds of unlinks need not delay the batch's end).
   */
  async removeChunks(): Promise<void> {
    const trash = join(this.dir, `${TRASH_PREFIX}${randomBytes(4).toString('hex')}`);
    try {
      await rename(this.chunksDir, trash);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    void rm(trash, { recursive: true, force: true }).catch(() => undefined);
  }

  /** Deletes chunk directories an earlier process renamed away but did not finish deleting. */
  async #removeTrash(): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    await Promise.all(
      names
        .filter((n) => n.startsWith(TRASH_PREFIX))
        .map((n) => rm(join(this.dir, n), { recursive: true, force: true })),
    );
  }

  /** Takes the job's lock; throws BatchBusyError while another live process on this host holds it. */
  async lock(): Promise<() => Promise<void>> {
    await mkdir(this.dir, { recursive: true });
    const path = join(this.dir, 'lock.json');
    const me = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
    try {
      await writeFile(path, JSON.stringify(me), { flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = await readFile(path, 'utf8')
        .then((t) => JSON.parse(t) as typeof me)
        .catch(() => undefined);
      if (holder && holder.pid !== process.pid && holder.host === me.host && alive(holder.pid)) {
        throw new BatchBusyError(`batch ${this.dir} is being run by process ${holder.pid} (since ${holder.since})`);
      }
      // The holder died (kill -9, crash): take the job over.
      await writeAtomic(path, JSON.stringify(me), false);
    }
    await this.#removeTrash();
    return async () => {
      const holder = await readFile(path, 'utf8')
        .then((t) => JSON.parse(t) as typeof me)
        .catch(() => undefined);
      if (holder?.pid === process.pid) await rm(path, { force: true });
    };
  }

  /** The process holding the lock, when it is alive on this host. */
  async runner(): Promise<number | undefined> {
    const holder = await readFile(join(this.dir, 'lock.json'), 'utf8')
      .then((t) => JSON.parse(t) as { pid: number; host: string })
      .catch(() => undefined);
    return holder && holder.host === hostname() && alive(holder.pid) ? holder.pid : undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function countLines(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) n++;
  return n;
}
