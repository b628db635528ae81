/**
 * Byte-level reading of append-only log files: whole lines from an offset, where the last N lines start, and
 * where lines newer than a time start. Lines are split on bytes, so a UTF-8 character cut by a read is never
 * mangled.
 */
import { type FileHandle, open } from 'node:fs/promises';

const CHUNK = 64 * 1024;
const NL = 0x0a;

/** Opens a file for reading; `undefined` when it is gone (a replica's log may be removed at any time). */
export async function openLog(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Reads bytes `[from, to)` and hands every complete line (without its newline) to `onLine`, in order; `onLine`
 * returning `false` stops the read. `carry` is an unfinished line read earlier that the range continues.
 * Returns what is left after the last newline: an unfinished line, for the next call or to flush at the end.
 */
export async function readLines(
  file: FileHandle,
  from: number,
  to: number,
  carry: Buffer,
  onLine: (line: Buffer) => boolean | undefined,
): Promise<Buffer> {
  let rest = carry;
  let pos = from;
  const buf = Buffer.allocUnsafe(CHUNK);
  while (pos < to) {
    const { bytesRead } = await file.read(buf, 0, Math.min(CHUNK, to - pos), pos);
    if (bytesRead === 0) break;
    pos += bytesRead;
    let start = 0;
    for (let nl = buf.indexOf(NL, 0); nl !== -1 && nl < bytesRead; nl = buf.indexOf(NL, start)) {
      const piece = buf.subarray(start, nl);
      if (onLine(rest.length === 0 ? Buffer.from(piece) : Buffer.concat([rest, piece])) === false) {
        return Buffer.alloc(0);
      }
      rest = Buffer.alloc(0);
      start = nl + 1;
    }
    if (start < bytesRead) rest = Buffer.concat([rest, buf.subarray(start, bytesRead)]);
  }
  return rest;
}

/**
 * Offset where the last `n` lines of `[from, to)` begin (an unfinished last line counts as one), scanning
 * backwards so a long log is not read whole.
 */
export async function tailStart(file: FileHandle, from: number, to: number, n: number): Promise<number> {
  if (n <= 0) return to;
  const buf = Buffer.allocUnsafe(CHUNK);
  let end = to;
  // The newline that ends the last line does not start another one.
  let skip = to > from ? (await byteAt(file, to - 1)) === NL : false;
  let seen = 0;
  while (end > from) {
    const start = Math.max(from, end - CHUNK);
    const { bytesRead } = await file.read(buf, 0, end - start, start);
    for (let i = bytesRead - 1; i >= 0; i--) {
      if (buf[i] !== NL) continue;
      if (skip) {
        skip = false;
        continue;
      }
      if (++seen === n) return start + i + 1;
    }
    end = start;
  }
  return from;
}

async function byteAt(file: FileHandle, pos: number): Promise<number | undefined> {
  const one = Buffer.alloc(1);
  const { bytesRead } = await file.read(one, 0, 1, pos);
  return bytesRead === 1 ? one[0] : undefined;
}

const RUN_MARKER = /^--- (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) replica /;
const PINO_TIME = /^\{.*"time":(\d{10,16}|"[^"]+")/;

/**
 * When a line says it was written, if it does: the runtime's `--- <ISO time> replica …` start/exit lines, and
 * pino's JSON `"time"` (epoch ms or ISO). Plain output carries no time.
 */
export function lineTime(line: string): number | undefined {
  const marker = RUN_MARKER.exec(line);
  if (marker) return Date.parse(marker[1]!);
  const pino = PINO_TIME.exec(line);
  if (!pino) return undefined;
  const raw = pino[1]!;
  const ms = raw.startsWith('"') ? Date.parse(raw.slice(1, -1)) : Number(raw);
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * Offset of the first line that may have been written at or after `cutoffMs`. Lines carry no time of their own,
 * so a line counts as old only when a later line says it was written before the cutoff (or the whole file was
 * last written before it): no line newer than the cutoff is ever left out, a few older ones may be shown.
 */
export async function sinceStart(file: FileHandle, to: number, cutoffMs: number): Promise<number> {
  const { mtimeMs } = await file.stat();
  if (mtimeMs < cutoffMs) return to;
  let start = 0;
  let pos = 0;
  await readLines(file, 0, to, Buffer.alloc(0), (line) => {
    pos += line.length + 1;
    // Only lines that may carry a time are decoded.
    const first = line[0];
    if (first !== 0x2d && first !== 0x7b) return undefined;
    const at = lineTime(line.toString('utf8'));
    if (at === undefined) return undefined;
    if (at >= cutoffMs) return false;
    start = pos;
    return undefined;
  });
  return Math.min(start, to);
}
