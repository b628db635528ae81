/**
 * The models this server holds (KServe's ModelRepository, Triton's repository states).
 *
 * Each model is independent: its load fetches, parses and initialises a new session off to the side, so a broken
 * file only marks *that* model UNAVAILABLE. A reload (a changed storageUri or batching) keeps the current
 * version serving until the new one is READY, then swaps it in one assignment and frees the old session once its
 * in-flight runs finish. A failed reload leaves the old version serving and says so in `reason`.
 */
import type { Logger } from 'pino';
import { ModelNotFoundError, ModelNotReadyError } from './errors.ts';
import { OnnxModel, type OnnxModelOptions } from './onnx-model.ts';
import { MODEL_VERSION, type ModelSpec, ServedModel } from './served-model.ts';
import { type FetchOptions, fetchModel, type ModelFetcher } from './storage.ts';
import { redactUri } from './storage-paths.ts';

export type ModelState = 'READY' | 'LOADING' | 'UNAVAILABLE';

/** One row of `POST /v2/repository/index`. */
export interface RepositoryIndexEntry {
  name: string;
  version: string;
  state: ModelState;
  reason: string;
}

export interface ModelRepositoryOptions {
  /** Fetches model bytes for a storageUri. @defaultValue fetchModel (file, http(s), s3) */
  fetch?: ModelFetcher;
  /** Options of every onnxruntime session. @defaultValue {} */
  onnx?: OnnxModelOptions;
  /** Environment for storage settings (S3 endpoint and keys). @defaultValue process.env */
  env?: NodeJS.ProcessEnv;
  /** Where loads, swaps and failures are logged. @defaultValue undefined (silent) */
  logger?: Logger;
}

interface PendingLoad {
  spec: ModelSpec;
  promise: Promise<ServedModel>;
  abort: AbortController;
}

interface Entry {
  readonly name: string;
  serving: ServedModel | undefined;
  state: ModelState;
  reason: string;
  /** The spec last asked for (kept after a failure, so a reconcile can tell what was wanted). */
  wanted: ModelSpec;
  pending: PendingLoad | undefined;
  /** Bumped by every load and by unload; a load whose generation is stale discards its result. */
  gen: number;
}

const sameBatching = (a: ModelSpec['batching'], b: ModelSpec['batching']) =>
  a === b || (!!a && !!b && a.maxBatchSize === b.maxBatchSize && a.maxLatencyMs === b.maxLatencyMs);

/** Whether two specs would load the same thing (memory is advisory and does not count). */
export function sameModelSpec(a: ModelSpec, b: ModelSpec): boolean {
  return (
    a.storageUri === b.storageUri &&
    (a.framework ?? 'onnx') === (b.framework ?? 'onnx') &&
    sameBatching(a.batching, b.batching)
  );
}

function checkFramework(spec: ModelSpec): void {
  const f = (spec.framework ?? 'onnx').toLowerCase();
  if (f !== 'onnx' && f !== 'onnxruntime') {
    throw new Error(`framework '${spec.framework}' is not served here: this model server runs ONNX models only`);
  }
}

export class ModelRepository {
  readonly #entries = new Map<string, Entry>();
  readonly #fetch: ModelFetcher;
  readonly #fetchOptions: Omit<FetchOptions, 'signal'>;
  readonly #onnx: OnnxModelOptions;
  /** Where loads, swaps and failures are logged (set by the server once the SDK hands it one). */
  logger: Logger | undefined;

  constructor(options: ModelRepositoryOptions = {}) {
    this.#fetch = options.fetch ?? fetchModel;
    this.#fetchOptions = options.env ? { env: options.env } : {};
    this.#onnx = options.onnx ?? {};
    this.logger = options.logger;
  }

  /** The version serving `name` right now (READY, possibly while a newer one loads), or undefined. */
  get(name: string): ServedModel | undefined {
    return this.#entries.get(name)?.serving;
  }

  /** State of `name`, or undefined when the repository does not know it. */
  status(name: string): { state: ModelState; reason: string; spec: ModelSpec } | undefined {
    const e = this.#entries.get(name);
    return e && { state: e.state, reason: e.reason, spec: e.pending?.spec ?? e.wanted };
  }

  names(): string[] {
    return [...this.#entries.keys()];
  }

  index(): RepositoryIndexEntry[] {
    return [...this.#entries.values()]
      .map((e) => ({ name: e.name, version: MODEL_VERSION, state: e.state, reason: e.reason }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Loads (or reloads) `name` from `spec`. Idempotent: the same spec already serving resolves at once, the same
   * spec loading joins that load. A different spec starts a new load that supersedes any in progress; callers of
   * the superseded one follow the newer. Rejects with ModelNotReadyError carrying the reason.
   */
  load(name: string, spec: ModelSpec): Promise<ServedModel> {
    let e = this.#entries.get(name);
    if (e?.pending && sameModelSpec(e.pending.spec, spec)) return e.pending.promise;
    if (e?.serving && !e.pending && sameModelSpec(e.serving.spec, spec)) return Promise.resolve(e.serving);
    if (!e) {
      e = { name, serving: undefined, state: 'LOADING', reason: '', wanted: spec, pending: undefined, gen: 0 };
      this.#entries.set(name, e);
    }
    e.pending?.abort.abort(new Error('superseded by a newer load'));
    const gen = ++e.gen;
    const abort = new AbortController();
    e.wanted = spec;
    if (e.serving) e.reason = `loading ${redactUri(spec.storageUri)}`;
    else {
      e.state = 'LOADING';
      e.reason = '';
    }
    // Registered before the load starts: a load can fail synchronously (bad framework) and clears it on the way.
    const pending: PendingLoad = { spec, abort, promise: Promise.resolve(undefined as never) };
    e.pending = pending;
    pending.promise = this.#load(e, gen, spec, abort.signal);
    pending.promise.catch(() => {}); // the caller gets the rejection; this keeps an abandoned load from being "unhandled"
    return pending.promise;
  }

  /** Unloads `name`; its session is freed once in-flight requests finish. Throws ModelNotFoundError if unknown. */
  async unload(name: string): Promise<void> {
    const e = this.#entries.get(name);
    if (!e) throw new ModelNotFoundError(name);
    this.#entries.delete(name);
    e.gen++;
    e.pending?.abort.abort(new Error('unloaded'));
    e.pending = undefined;
    const serving = e.serving;
    e.serving = undefined;
    e.state = 'UNAVAILABLE';
    e.reason = 'unloaded';
    this.logger?.info({ model: name }, 'model unloaded');
    await serving?.retire();
  }

  /** Unloads everything (shutdown). */
  async close(): Promise<void> {
    await Promise.all(this.names().map((n) => this.unload(n).catch(() => {})));
  }

  async #load(e: Entry, gen: number, spec: ModelSpec, signal: AbortSignal): Promise<ServedModel> {
    const stale = () => this.#entries.get(e.name) !== e || e.gen !== gen;
    const t0 = performance.now();
    try {
      checkFramework(spec);
      const fetched = await this.#fetch(spec.storageUri, { ...this.#fetchOptions, signal });
      if (stale()) return this.#follow(e);
      const model = await OnnxModel.load(fetched.bytes, this.#onnx);
      if (stale()) {
        void model.retire();
        return this.#follow(e);
      }
      const served = new ServedModel(e.name, spec, model);
      const old = e.serving;
      e.serving = served;
      e.state = 'READY';
      e.reason = '';
      e.pending = undefined;
      this.logger?.info(
        {
          model: e.name,
          from: fetched.from,
          bytes: fetched.bytes.length,
          ms: Math.round(performance.now() - t0),
          batching: served.batcher ? spec.batching : undefined,
          replaced: old ? redactUri(old.spec.storageUri) : undefined,
        },
        'model ready',
      );
      if (served.batchingOff) this.logger?.warn({ model: e.name, reason: served.batchingOff }, 'batching is off');
      if (model.skippedOutputs.length)
        this.logger?.warn({ model: e.name, skipped: model.skippedOutputs }, 'outputs left out');
      if (old) void old.retire();
      return served;
    } catch (err) {
      if (stale()) return this.#follow(e);
      e.pending = undefined;
      const reason = err instanceof Error ? err.message : String(err);
      if (e.serving) {
        e.reason = `loading ${redactUri(spec.storageUri)} failed: ${reason}; still serving ${redactUri(e.serving.spec.storageUri)}`;
      } else {
        e.state = 'UNAVAILABLE';
        e.reason = reason;
      }
      this.logger?.warn({ model: e.name, reason: e.reason }, 'model load failed');
      throw new ModelNotReadyError(e.name, reason, { cause: err });
    }
  }

  /** The outcome a superseded load's callers get: the newer load's, or why the model went away. */
  #follow(e: Entry): Promise<ServedModel> {
    const current = this.#entries.get(e.name);
    if (!current) return Promise.reject(new ModelNotReadyError(e.name, 'It was unloaded while loading.'));
    if (current.pending) return current.pending.promise;
    if (current.serving) return Promise.resolve(current.serving);
    return Promise.reject(new ModelNotReadyError(e.name, current.reason));
  }
}
