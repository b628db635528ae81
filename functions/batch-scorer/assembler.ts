/**
 * Builds the final output while the batch runs: each chunk, once written to the job directory, is also appended
 * to a temporary output file as soon as every chunk before it has been, so finishing a batch is an fsync and a
 * rename rather than a second pass over every chunk file. The temporary files belong to one run; a resumed run
 * builds them again from the chunk files and what it scores.
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { syncDir } from '../../services/controller/atomic-file.ts';
import type { ChunkOutput } from './types.ts';

/** A chunk's texts, or `file`: read them from the job directory (chunks written by an earlier run). */
export type AssemblyPart = ChunkOutput | 'file';

function countLines(text: string | Buffer): number {
  let n = 0;
  if (typeof text === 'string') for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  else for (let i = text.indexOf(10); i !== -1; i = text.indexOf(10, i + 1)) n++;
  return n;
}

export class OutputAssembler {
  readonly #chunksDir: string;
  readonly #output: string;
  readonly #failedOutput: string;
  readonly #out: FileHandle;
  readonly #bad: FileHandle;
  readonly #outTemp: string;
  readonly #badTemp: string;
  readonly #parts = new Map<number, AssemblyPart>();
  #next = 0;
  #writing: Promise<void> = Promise.resolve();
  #error: unknown;
  succeeded = 0;
  failed = 0;

  private constructor(
    chunksDir: string,
    output: string,
    failedOutput: string,
    files: [FileHandle, FileHandle, string, string],
  ) {
    this.#chunksDir = chunksDir;
    this.#output = output;
    this.#failedOutput = failedOutput;
    [this.#out, this.#bad, this.#outTemp, this.#badTemp] = files;
  }

  static async open(chunksDir: string, output: string, failedOutput: string): Promise<OutputAssembler> {
    const tag = randomBytes(4).toString('hex');
    const outTemp = `${output}.${tag}.tmp`;
    const badTemp = `${failedOutput}.${tag}.tmp`;
    await mkdir(dirname(output), { recursive: true });
    await mkdir(dirname(failedOutput), { recursive: true });
    const out = await open(outTemp, 'w', 0o644);
    const bad = await open(badTemp, 'w', 0o644);
    return new OutputAssembler(chunksDir, output, failedOutput, [out, bad, outTemp, badTemp]);
  }

  /** Chunks appended so far (every chunk below this index). */
  get appended(): number {
    return this.#next;
  }

  /** Hands over chunk `chunk`; it is appended once every chunk before it is. */
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
        let scored: string | Buffer;
        let failed: string | Buffer;
        if (part === 'file') {
          const base = join(this.#chunksDir, String(this.#next).padStart(6, '0'));
          scored = await readFile(`${base}.jsonl`);
          failed = await readFile(`${base}.failed.jsonl`).catch(() => Buffer.alloc(0));
          this.succeeded += countLines(scored);
          this.failed += countLines(failed);
        } else {
          ({ scored, failed } = part);
          this.succeeded += part.succeeded;
          this.failed += part.failedRows;
        }
        if (scored.length > 0) await this.#out.writeFile(scored);
        if (failed.length > 0) await this.#bad.writeFile(failed);
        this.#next++;
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
    await Promise.all([this.#out.sync(), this.#bad.sync()]);
    await Promise.all([this.#out.close(), this.#bad.close()]);
    await rename(this.#badTemp, this.#failedOutput);
    await rename(this.#outTemp, this.#output);
    await syncDir(dirname(this.#output));
    return { succeeded: this.succeeded, failed: this.failed };
  }

  /** Drops the temporary files (the run stopped before the end). */
  async abort(): Promise<void> {
    await this.#writing.catch(() => undefined);
    await Promise.allSettled([this.#out.close(), this.#bad.close()]);
    await Promise.all([rm(this.#outTemp, { force: true }), rm(this.#badTemp, { force: true })]);
  }
}
