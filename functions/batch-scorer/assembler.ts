/**
 * Builds the final output while the batch runs: each chunk, once in the chunk log, is also appended to a temporary
 * output file as soon as every chunk before it has been, so finishing a batch is an fsync and a rename rather than
 * a second pass over the log. Appends are gathered and written a few megabytes at a time (the temporary files are
 * not what a resume relies on, so they need no write per chunk). The temporary files belong to one run; a resumed
 * run builds them again from the log and what it scores.
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { syncDir } from '../../services/controller/atomic-file.ts';
import type { ChunkBytes } from './chunk-log.ts';

/** A chunk's rows, or how to read them (chunks logged by an earlier run). */
export type AssemblyPart = ChunkBytes | (() => Promise<ChunkBytes>);

export interface AssemblerOptions {
  /** Bytes gathered before they are written out. @defaultValue 4 MiB */
  flushBytes?: number;
}

/** A file being written, with the buffers not written yet. */
class Pending {
  readonly buffers: Buffer[] = [];
  bytes = 0;
  constructor(readonly file: FileHandle) {}

  push(buf: Buffer): void {
    if (buf.length === 0) return;
    this.buffers.push(buf);
    this.bytes += buf.length;
  }

  async write(): Promise<void> {
    if (this.bytes === 0) return;
    const buffers = this.buffers.splice(0);
    const bytes = this.bytes;
    this.bytes = 0;
    const { bytesWritten } = await this.file.writev(buffers);
    if (bytesWritten !== bytes) throw new Error(`short write: ${bytesWritten} of ${bytes} bytes`);
  }
}

export class OutputAssembler {
  readonly #output: string;
  readonly #failedOutput: string;
  readonly #out: Pending;
  readonly #bad: Pending;
  readonly #outTemp: string;
  readonly #badTemp: string;
  readonly #flushBytes: number;
  readonly #parts = new Map<number, AssemblyPart>();
  #next = 0;
  #writing: Promise<void> = Promise.resolve();
  #error: unknown;
  succeeded = 0;
  failed = 0;

  private constructor(
    output: string,
    failedOutput: string,
    files: [FileHandle, FileHandle, string, string],
    options: AssemblerOptions,
  ) {
    this.#output = output;
    this.#failedOutput = failedOutput;
    this.#out = new Pending(files[0]);
    this.#bad = new Pending(files[1]);
    [, , this.#outTemp, this.#badTemp] = files;
    this.#flushBytes = options.flushBytes ?? 4 << 20;
  }

  static async open(output: string, failedOutput: string, options: AssemblerOptions = {}): Promise<OutputAssembler> {
    const tag = randomBytes(4).toString('hex');
    const outTemp = `${output}.${tag}.tmp`;
    const badTemp = `${failedOutput}.${tag}.tmp`;
    await mkdir(dirname(output), { recursive: true });
    await mkdir(dirname(failedOutput), { recursive: true });
    const out = await open(outTemp, 'w', 0o644);
    const bad = await open(badTemp, 'w', 0o644);
    return new OutputAssembler(output, failedOutput, [out, bad, outTemp, badTemp], options);
  }

  /** Chunks appended so far (every chunk below this index). */
  get appended(): number {
    return this.#next;
  }

  /** Hands over chunk `chunk`; it is appended once every chunk before it is. A chunk offered again is ignored. */
  offer(chunk: number, part: AssemblyPart): void {
    if (chunk < this.#next || this.#parts.has(chunk)) return;
    this.#parts.set(chunk, part);
    if (chunk === this.#next) this.#writing = this.#writing.then(() => this.#drain());
  }

  async #drain(): Promise<void> {
    if (this.#error !== undefined) return;
    try {
      for (let part = this.#parts.get(this.#next); part !== undefined; part = this.#parts.get(this.#next)) {
        this.#parts.delete(this.#next);
        const bytes = typeof part === 'function' ? await part() : part;
        this.succeeded += bytes.succeeded;
        this.failed += bytes.failedRows;
        this.#out.push(bytes.scored);
        this.#bad.push(bytes.failed);
        this.#next++;
        if (this.#out.bytes + this.#bad.bytes >= this.#flushBytes)
          await Promise.all([this.#out.write(), this.#bad.write()]);
      }
    } catch (err) {
      this.#error = err;
    }
  }

  /** Once every one of `chunks` chunks is appended: flushes both files and renames them into place. */
  async finish(chunks: number): Promise<{ succeeded: number; failed: number }> {
    await this.#writing;
    if (this.#error !== undefined) throw this.#error;
    if (this.#next !== chunks) throw new Error(`output assembled up to chunk ${this.#next} of ${chunks}`);
    await Promise.all([this.#out.write(), this.#bad.write()]);
    await Promise.all([this.#out.file.sync(), this.#bad.file.sync()]);
    await Promise.all([this.#out.file.close(), this.#bad.file.close()]);
    await rename(this.#badTemp, this.#failedOutput);
    await rename(this.#outTemp, this.#output);
    await syncDir(dirname(this.#output));
    if (dirname(this.#failedOutput) !== dirname(this.#output)) await syncDir(dirname(this.#failedOutput));
    return { succeeded: this.succeeded, failed: this.failed };
  }

  /** Drops the temporary files (the run stopped before the end). */
  async abort(): Promise<void> {
    await this.#writing.catch(() => undefined);
    await Promise.allSettled([this.#out.file.close(), this.#bad.file.close()]);
    await Promise.all([rm(this.#outTemp, { force: true }), rm(this.#badTemp, { force: true })]);
  }
}
