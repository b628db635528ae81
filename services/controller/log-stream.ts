/**
 * Streams a Function's replica logs as text, like `kubectl logs`: what is there (optionally only the last lines,
 * or lines since a time), then, when following, new lines and new replicas as they appear, until told to stop.
 */
import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { openLog, readLines, sinceStart, tailStart } from './log-reader.ts';
import type { LogFile, LogSource } from './log-source.ts';

export interface LogStreamRequest {
  source: LogSource;
  namespace: string;
  name: string;
  /** Only this replica's log. @defaultValue every replica */
  replica?: string;
  /** Keep streaming new lines until `stop` aborts. @defaultValue false */
  follow?: boolean;
  /** Only the last N lines of each replica's log (then, when following, everything new). @defaultValue all */
  tailLines?: number;
  /** Only lines written in the last S seconds (see `sinceStart` for how that is judged). @defaultValue all */
  sinceSeconds?: number;
  /**
   * Start each line with `[<replica>] `. Left undefined, lines are prefixed once more than one replica is shown
   * (when following, from the moment a second replica appears). @defaultValue auto
   */
  prefix?: boolean;
  /** How often a followed log is checked for new lines and replicas. @defaultValue 250 */
  pollIntervalMs?: number;
  /** Ends a follow: the logs are read one last time, unfinished lines are flushed, and the stream returns. */
  stop?: AbortSignal;
  /** Sends text on; resolves `false` once the reader is gone (the stream then returns at once). */
  write(text: string): Promise<boolean>;
  /** @defaultValue Date.now */
  now?: () => number;
}

interface Tracked {
  file: LogFile;
  /** Bytes of the file already read. */
  offset: number;
  /** Inode of the file read, to notice a file replaced by another of the same name. */
  ino: number | undefined;
  /** An unfinished last line, held until its newline arrives. */
  carry: Buffer;
}

/** Lines are sent in batches of at most about this many bytes, so a long log never sits in memory whole. */
const SEGMENT = 256 * 1024;
const EMPTY = Buffer.alloc(0);

export async function streamLogs(req: LogStreamRequest): Promise<void> {
  const tracked = new Map<string, Tracked>();
  let prefixing = req.prefix ?? false;
  let open = true;
  const list = async () =>
    (await req.source.files(req.namespace, req.name)).filter(
      (f) => req.replica === undefined || f.replica === req.replica,
    );
  const track = (files: LogFile[]) => {
    for (const file of files)
      if (!tracked.has(file.path)) tracked.set(file.path, { file, offset: 0, ino: undefined, carry: EMPTY });
    if (req.prefix === undefined && tracked.size > 1) prefixing = true;
  };
  const send = async (text: string) => {
    if (open && text !== '') open = await req.write(text);
  };

  /** Sends the complete lines of bytes `[from, to)` of a file. */
  const emit = async (t: Tracked, from: number, to: number) => {
    const file = await openLog(t.file.path);
    if (file === undefined) return;
    try {
      for (let pos = from; pos < to && open; pos += SEGMENT) {
        let text = '';
        const lead = prefixing ? `[${t.file.replica}] ` : '';
        t.carry = await readLines(file, pos, Math.min(to, pos + SEGMENT), t.carry, (line) => {
          text += `${lead}${line.toString('utf8')}\n`;
          return undefined;
        });
        await send(text);
      }
    } finally {
      await file.close();
    }
  };

  /** Reads whatever each tracked file gained since the last look. */
  const sweep = async () => {
    track(await list());
    for (const t of tracked.values()) {
      if (!open) return;
      const st = await stat(t.file.path).catch(() => undefined);
      if (st === undefined) continue;
      const { size, ino } = st;
      if (size < t.offset || (t.ino !== undefined && ino !== t.ino)) {
        // Replaced or truncated: read it from the start again.
        t.offset = 0;
        t.carry = EMPTY;
      }
      t.ino = ino;
      if (size > t.offset) {
        await emit(t, t.offset, size);
        t.offset = size;
      }
    }
  };

  const first = await list();
  track(first);
  const cutoff = req.sinceSeconds === undefined ? undefined : (req.now ?? Date.now)() - req.sinceSeconds * 1000;
  for (const t of tracked.values()) {
    if (!open) return;
    const file = await openLog(t.file.path);
    if (file === undefined) continue;
    let from: number;
    try {
      ({ size: t.offset, ino: t.ino } = await file.stat());
      from = cutoff === undefined ? 0 : await sinceStart(file, t.offset, cutoff);
      if (req.tailLines !== undefined) from = await tailStart(file, from, t.offset, req.tailLines);
    } finally {
      await file.close();
    }
    await emit(t, from, t.offset);
  }

  if (req.follow) {
    const stop = req.stop ?? new AbortController().signal;
    while (open && !stop.aborted) {
      await sleep(req.pollIntervalMs ?? 250, undefined, { signal: stop }).catch(() => undefined);
      await sweep();
    }
  }
  // A line still missing its newline is shown as it is, as the last thing from its replica.
  for (const t of tracked.values()) {
    if (t.carry.length === 0) continue;
    await send(`${prefixing ? `[${t.file.replica}] ` : ''}${t.carry.toString('utf8')}\n`);
    t.carry = EMPTY;
  }
}
