/**
 * Keeps the repository in step with the model config file (`ES_MODEL_CONFIG`).
 *
 * The platform replaces the file atomically (write a temp file, rename over), which swaps the inode: a watch on
 * the file itself would go deaf after the first update, so the *directory* is watched and events for our name
 * trigger a re-read. A read that does not parse (a writer that does not rename, caught mid-write) keeps the last
 * good config and is retried shortly; a slow stat poll backs fs.watch up where events get lost.
 */
import { type FSWatcher, watch } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { ModelConfigError, parseModelConfig } from './model-config.ts';
import { type ModelRepository, sameModelSpec } from './repository.ts';
import type { ModelSpec } from './served-model.ts';

export interface ModelConfigWatcherOptions {
  /** Path of the JSON file. */
  path: string;
  repository: ModelRepository;
  /** @defaultValue undefined (silent) */
  logger?: Logger;
  /** Quiet time after a file event before re-reading (an editor or writer may touch it several times). @defaultValue 20 */
  debounceMs?: number;
  /** Interval of the backup stat poll; 0 turns it off. @defaultValue 1000 */
  pollMs?: number;
  /** Delay before re-reading a file that did not parse. @defaultValue 250 */
  retryMs?: number;
  /** Use fs.watch events; off leaves only the stat poll (for filesystems whose events are unreliable). @defaultValue true */
  events?: boolean;
}

export class ModelConfigWatcher {
  readonly path: string;
  readonly #repo: ModelRepository;
  readonly #log: Logger | undefined;
  readonly #debounceMs: number;
  readonly #pollMs: number;
  readonly #retryMs: number;
  readonly #events: boolean;
  #specs: ReadonlyMap<string, ModelSpec> = new Map();
  /** Models this watcher loaded: the only ones it unloads when they leave the file. */
  readonly #owned = new Set<string>();
  #lastText: string | undefined;
  #lastStat = '';
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #poll: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(options: ModelConfigWatcherOptions) {
    this.path = resolve(options.path);
    this.#repo = options.repository;
    this.#log = options.logger;
    this.#debounceMs = options.debounceMs ?? 20;
    this.#pollMs = options.pollMs ?? 1000;
    this.#retryMs = options.retryMs ?? 250;
    this.#events = options.events ?? true;
  }

  /** The last config that parsed. */
  get specs(): ReadonlyMap<string, ModelSpec> {
    return this.#specs;
  }

  /** Marks `name` as loaded from the config (the load API loads listed models on the platform's request). */
  adopt(name: string): void {
    this.#owned.add(name);
  }

  /**
   * Reads the file, loads every listed model (resolving once each load has succeeded or failed), then watches.
   * A missing file means no models yet; an unparsable one at start is an error (nothing good to fall back to).
   */
  async start(): Promise<void> {
    const dir = dirname(this.path);
    const name = basename(this.path);
    await stat(dir); // a missing directory is a deployment error worth failing on
    if (this.#events) {
      this.#watcher = watch(dir, { persistent: false }, (_event, file) => {
        if (file === null || file === name) this.#schedule(this.#debounceMs);
      });
      this.#watcher.on('error', (err) => this.#log?.warn({ err }, 'model config watch failed; polling only'));
    }
    if (this.#pollMs > 0) {
      this.#poll = setInterval(() => void this.#checkStat(), this.#pollMs);
      this.#poll.unref();
    }
    const text = await this.#read();
    if (text === undefined) {
      this.#log?.warn({ path: this.path }, 'model config file does not exist yet; serving no models until it does');
      return;
    }
    await this.#apply(text, true);
  }

  /** Re-reads and applies the file now; resolves when the loads it started have settled. */
  reconcile(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    const run = async () => {
      do {
        this.#again = false;
        const text = await this.#read();
        if (text !== undefined) await this.#apply(text, false);
      } while (this.#again && !this.#closed);
    };
    this.#running = run().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    clearTimeout(this.#timer);
    clearInterval(this.#poll);
  }

  #schedule(ms: number): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.reconcile(), ms);
    this.#timer.unref();
  }

  async #checkStat(): Promise<void> {
    try {
      const s = await stat(this.path);
      const key = `${s.ino}:${s.size}:${s.mtimeMs}`;
      if (key !== this.#lastStat) {
        this.#lastStat = key;
        this.#schedule(0);
      }
    } catch {
      // missing for now: the platform has not written it, or is between writes
    }
  }

  async #read(): Promise<string | undefined> {
    try {
      const [text, s] = await Promise.all([readFile(this.path, 'utf8'), stat(this.path)]);
      this.#lastStat = `${s.ino}:${s.size}:${s.mtimeMs}`;
      return text;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async #apply(text: string, initial: boolean): Promise<void> {
    if (text === this.#lastText) return;
    let specs: Map<string, ModelSpec>;
    try {
      specs = parseModelConfig(text);
    } catch (err) {
      if (initial || !(err instanceof ModelConfigError)) throw err;
      this.#log?.warn(
        { path: this.path, reason: err.message },
        'model config does not parse; keeping the last good one',
      );
      this.#schedule(this.#retryMs);
      return;
    }
    this.#lastText = text;
    this.#specs = specs;
    const loads: Promise<unknown>[] = [];
    for (const [name, spec] of specs) {
      const status = this.#repo.status(name);
      if (status && status.state !== 'UNAVAILABLE' && sameModelSpec(status.spec, spec)) continue;
      this.#owned.add(name);
      // Failures are recorded in the repository (state UNAVAILABLE, reason) and logged there.
      loads.push(this.#repo.load(name, spec).catch(() => {}));
    }
    for (const name of this.#repo.names()) {
      if (!specs.has(name) && this.#owned.has(name)) {
        this.#owned.delete(name);
        loads.push(this.#repo.unload(name).catch(() => {}));
      }
    }
    this.#log?.info({ path: this.path, models: [...specs.keys()], changes: loads.length }, 'model config applied');
    await Promise.all(loads);
  }
}
