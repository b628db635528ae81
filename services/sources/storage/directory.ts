import type { Dirent, Stats } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type FSWatcher, watch } from 'chokidar';
import type { Logger } from 'pino';
import { SerialQueue } from './emitter.ts';
import { contentTypeOf } from './events.ts';
import { isIgnoredPath, keyOf, md5File, sameStat } from './files.ts';
import { type ObjectLedger, versionId } from './ledger.ts';
import type { ObjectChange, SourceHealth } from './types.ts';

/** Options of {@link DirectoryWatch}. */
export interface DirectoryWatchOptions {
  /** Absolute path of the watched directory (created when missing). */
  dir: string;
  /** Bucket name put on the events. */
  bucket: string;
  /** A file is complete once its size and mtime held still this long. */
  stabilityMs: number;
  /** The source's checkpoint: what was announced, by key. */
  ledger: ObjectLedger;
  /** On a first start (fresh ledger), announce the files already there; otherwise only record them. */
  announceExisting: boolean;
  /** Delivers one change; `true` once the sink accepted it. */
  emit(change: ObjectChange): Promise<boolean>;
  logger: Logger;
  /** Wait before announcing again a change the sink refused. @defaultValue 5000 */
  retryMs?: number;
  /**
   * Every so often the whole tree is walked and compared with the checkpoint, catching what the OS watch
   * missed (inotify drops events of directories created and filled at once, and on queue overflow).
   * @defaultValue 30000
   */
  rescanMs?: number;
  /** Called when {@link DirectoryWatch.health} changes. @defaultValue none */
  onHealthChange?: () => void;
}

interface Pending {
  timer?: NodeJS.Timeout;
  /** The stat of the previous look, if any: a file is stable when it did not change between two looks. */
  last?: Stats;
}

/**
 * Watches a directory tree (chokidar: inotify/FSEvents, no polling) and announces complete files.
 *
 * A file is complete when two looks `stabilityMs` apart see the same size and mtime and the mtime is at least
 * `stabilityMs` old; it is then hashed (MD5 hex, S3's single-part ETag) and re-checked, so a write during hashing
 * starts the wait again. `created` goes out when the hash differs from the checkpoint (so rewriting identical
 * bytes announces nothing), `deleted` on unlink of an announced key. Temporary and hidden names are ignored.
 *
 * Restart: files whose size and mtime match the checkpoint are skipped without hashing; files added or changed
 * while stopped are announced; checkpointed keys gone while stopped are announced deleted.
 */
export class DirectoryWatch {
  readonly #o: Required<Omit<DirectoryWatchOptions, 'onHealthChange'>> & Pick<DirectoryWatchOptions, 'onHealthChange'>;
  readonly #pending = new Map<string, Pending>();
  readonly #queue = new SerialQueue();
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Keys seen before chokidar's `ready`; with a fresh ledger and announceExisting off they are only recorded. */
  readonly #initial = new Set<string>();
  #ready = false;
  #stopped = false;
  #health: SourceHealth;
  #watcher: FSWatcher | undefined;

  private constructor(options: DirectoryWatchOptions) {
    this.#o = { retryMs: 5000, rescanMs: 30_000, ...options };
    this.#health = { ready: true, reason: 'Watching', message: `watching ${options.dir}` };
  }

  /** Starts watching; resolves once the existing tree has been scanned. */
  static async start(options: DirectoryWatchOptions): Promise<DirectoryWatch> {
    const w = new DirectoryWatch(options);
    await mkdir(options.dir, { recursive: true });
    await w.#watch();
    return w;
  }

  health(): SourceHealth {
    return this.#health;
  }

  /** Resolves when no file is waiting to become stable and every queued announcement has been made. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0 || this.#queue.pending > 0) {
      await Promise.race([this.#queue.drained(), new Promise((r) => setTimeout(r, 20))]);
    }
  }

  /** Stops watching, drops pending waits, and waits for the announcement in flight (its delivery is aborted by the runner). */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const p of this.#pending.values()) clearTimeout(p.timer);
    this.#pending.clear();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await this.#watcher?.close();
    await this.#queue.drained();
  }

  async #watch(): Promise<void> {
    const { dir } = this.#o;
    const watcher = watch(dir, { ignored: (path: string) => isIgnoredPath(dir, path), ignoreInitial: false });
    this.#watcher = watcher;
    watcher.on('add', (path: string) => this.#touched(path));
    watcher.on('change', (path: string) => this.#touched(path));
    watcher.on('unlink', (path: string) => this.#removed(path));
    // A directory created with files already in it can have some of them missed by the watch: look ourselves.
    watcher.on('addDir', (path: string) => {
      if (this.#ready) this.#later(100, () => void this.#rescan(path));
    });
    // Likewise a removed directory's files the watch never knew of: every announced key below it goes.
    watcher.on('unlinkDir', (path: string) => {
      const prefix = keyOf(dir, path);
      if (prefix === undefined) return;
      for (const key of this.#o.ledger.keys()) if (key.startsWith(`${prefix}/`)) this.#removed(join(dir, key));
    });
    watcher.on('error', (err: unknown) => {
      this.#o.logger.error({ dir, err }, 'directory watch failed');
      this.#setHealth({ ready: false, reason: 'WatchFailed', message: (err as Error)?.message ?? String(err) });
    });
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
    this.#ready = true;
    // Keys announced before the stop whose files are gone now: their deletion happened while nobody watched.
    for (const key of this.#o.ledger.keys()) {
      if (!this.#initial.has(key)) this.#announceDeleted(key);
    }
    const sweep = () =>
      this.#later(this.#o.rescanMs, () => {
        void this.#rescan(dir).finally(sweep);
      });
    sweep();
  }

  /**
   * Walks `under` (the whole tree or a new subdirectory): every file goes through the usual look (a stat; files
   * matching the checkpoint stop there), and on a full walk every checkpointed key without a file is removed.
   */
  async #rescan(under: string): Promise<void> {
    const { dir } = this.#o;
    let entries: Dirent[];
    try {
      entries = await readdir(under, { recursive: true, withFileTypes: true });
    } catch {
      return; // gone again; its unlink events say the rest
    }
    const seen = new Set<string>();
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath, entry.name);
      if (isIgnoredPath(dir, path)) continue;
      const key = keyOf(dir, path);
      if (key === undefined) continue;
      seen.add(key);
      this.#touched(path);
    }
    if (under !== dir || this.#stopped) return;
    for (const key of this.#o.ledger.keys()) if (!seen.has(key)) this.#announceDeleted(key);
  }

  #setHealth(health: SourceHealth): void {
    const changed = health.ready !== this.#health.ready || health.reason !== this.#health.reason;
    this.#health = health;
    if (changed) this.#o.onHealthChange?.();
  }

  #touched(path: string): void {
    const key = keyOf(this.#o.dir, path);
    if (key === undefined || this.#stopped) return;
    if (!this.#ready) this.#initial.add(key);
    // Already waiting: the next look re-reads the stat, which is all an extra event could tell.
    if (this.#pending.has(key)) return;
    const pending: Pending = {};
    this.#pending.set(key, pending);
    void this.#look(key, pending);
  }

  #removed(path: string): void {
    const key = keyOf(this.#o.dir, path);
    if (key === undefined || this.#stopped) return;
    const pending = this.#pending.get(key);
    if (pending) clearTimeout(pending.timer);
    this.#pending.delete(key);
    this.#announceDeleted(key);
  }

  /** One look at a file waiting to become complete. */
  async #look(key: string, pending: Pending): Promise<void> {
    const path = join(this.#o.dir, key);
    const current = await statFile(path);
    if (this.#pending.get(key) !== pending) return; // removed or stopped meanwhile
    if (current === undefined) {
      this.#pending.delete(key);
      return;
    }
    const known = this.#o.ledger.get(key);
    if (known?.mtimeMs !== undefined && sameStat({ size: known.size, mtimeMs: known.mtimeMs }, current)) {
      this.#pending.delete(key); // exactly what was announced (e.g. a restart)
      return;
    }
    const { stabilityMs } = this.#o;
    const age = Date.now() - current.mtimeMs;
    if (pending.last === undefined || !sameStat(pending.last, current) || age < stabilityMs) {
      pending.last = current;
      pending.timer = setTimeout(() => void this.#look(key, pending), Math.max(stabilityMs - age, stabilityMs));
      return;
    }
    this.#pending.delete(key);
    let etag: string;
    try {
      etag = await md5File(path);
    } catch {
      return; // gone while hashing: the unlink event does the rest
    }
    const after = await statFile(path);
    if (after === undefined || !sameStat(after, current)) {
      if (after) this.#touched(path); // written while hashing: wait for it to settle again
      return;
    }
    this.#announceCreated(key, current, etag);
  }

  #announceCreated(key: string, st: Stats, etag: string): void {
    const { ledger, bucket } = this.#o;
    const silent = ledger.fresh && !this.#o.announceExisting && this.#initial.has(key);
    const state = { etag, size: st.size, mtimeMs: st.mtimeMs };
    void this.#queue.push(async () => {
      if (this.#stopped) return;
      if (silent || ledger.get(key)?.etag === etag) {
        await ledger.record(key, state); // same bytes (or not to be announced): keep the new mtime only
        return;
      }
      const change: ObjectChange = {
        kind: 'created',
        bucket,
        key,
        size: st.size,
        etag,
        contentType: contentTypeOf(key),
        uri: pathToFileURL(join(this.#o.dir, key)).href,
        time: st.mtime.toISOString(),
        originId: versionId(state),
      };
      if (await this.#o.emit(change)) await ledger.record(key, state);
      else this.#retryLater(() => this.#touched(join(this.#o.dir, key)));
      await ledger.compact();
    });
  }

  #announceDeleted(key: string): void {
    const { ledger, bucket } = this.#o;
    void this.#queue.push(async () => {
      // Decided when its turn comes, so a created queued before it has been recorded by then.
      const known = ledger.get(key);
      if (this.#stopped || known === undefined) return;
      if ((await statFile(join(this.#o.dir, key))) !== undefined) return; // back again: its add event handles it
      const { size, etag } = known;
      const uri = pathToFileURL(join(this.#o.dir, key)).href;
      const change: ObjectChange = { kind: 'deleted', bucket, key, size, etag, uri, originId: versionId(known) };
      if (await this.#o.emit(change)) await ledger.record(key, undefined);
      else this.#retryLater(() => this.#announceDeleted(key));
      await ledger.compact();
    });
  }

  #retryLater(again: () => void): void {
    this.#later(this.#o.retryMs, again);
  }

  #later(ms: number, fn: () => void): void {
    if (this.#stopped) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#stopped) fn();
    }, ms);
    this.#timers.add(timer);
  }
}

async function statFile(path: string): Promise<Stats | undefined> {
  try {
    const st = await stat(path);
    return st.isFile() ? st : undefined;
  } catch {
    return undefined;
  }
}
