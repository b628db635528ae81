/**
 * A batch job's state on disk, `<output>.job/`:
 * - `manifest.json` — what the job is (input fingerprint, model, URL, chunking, queue), and once done its counts;
 * - `chunks.log` — every finished chunk's scored and failed rows, appended as soon as the chunk finishes
 *   (chunk-log.ts); a chunk is done when its record is in the log, whole;
 * - `lock.json` — the process running the job; a second coordinator refuses to run beside a live one.
 * The final output is the chunks' rows in chunk order, so it keeps input order and ids.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { syncDir } from '../../services/controller/atomic-file.ts';
import { ElasticServingError } from '../../services/core/errors.ts';
import { ChunkLog, type ChunkLogOptions, type LogScan, scanLog } from './chunk-log.ts';
import type { InputFingerprint, InputFormat } from './input.ts';
import type { QueueKind } from './types.ts';

/** 2: the chunk log (1 wrote a file per chunk). */
export const MANIFEST_VERSION = 2;

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

  constructor(dir: string) {
    this.dir = dir;
  }

  get manifestPath(): string {
    return join(this.dir, 'manifest.json');
  }

  get logPath(): string {
    return join(this.dir, 'chunks.log');
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
      throw new ElasticServingError(
        'ES_ERR_BAD_REQUEST',
        `${this.manifestPath} has layout version ${manifest.version}, this elastic-serving reads ${MANIFEST_VERSION}: finish the job with the version that started it, or delete ${this.dir} and submit again`,
      );
    }
    return manifest;
  }

  async writeManifest(manifest: BatchManifest): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeAtomic(this.manifestPath, `${JSON.stringify(manifest, null, 2)}\n`, true);
    await syncDir(this.dir);
  }

  /** Indexes of chunks whose record is in the log (headers only: for a look beside a running job). */
  async doneChunks(): Promise<Set<number>> {
    return new Set((await scanLog(this.logPath, { verify: false })).records.keys());
  }

  /**
   * Opens the chunk log to run the job (under its lock): records are checked against the manifest (a chunk of
   * the job, holding that chunk's number of rows), and a tail that is torn, damaged or wrong is cut off.
   */
  openLog(
    manifest: Pick<BatchManifest, 'chunkSize' | 'chunks' | 'input'>,
    options: Omit<ChunkLogOptions, 'accept'> = {},
  ): Promise<{ log: ChunkLog; scan: LogScan }> {
    return ChunkLog.open(this.logPath, {
      ...options,
      accept: (r) => r.chunk < manifest.chunks && r.succeeded + r.failedRows === rowsOfChunk(manifest, r.chunk),
    });
  }

  /** Drops the chunk log once the final output and the completed manifest are written. */
  async removeLog(): Promise<void> {
    await rm(this.logPath, { force: true });
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
