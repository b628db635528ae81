/**
 * The model server: a repository of ONNX models kept in step with the model config file, served over the v2/v1
 * routes and inference CloudEvents. `index.ts` hands it to the SDK; tests and embedders use it directly.
 */
import type { Handler, HttpAnswer, HttpRequest } from 'elastic-serving/sdk';
import { type Logger, pino } from 'pino';
import { createInferenceHandler } from './cloudevents.ts';
import { ModelConfigWatcher, type ModelConfigWatcherOptions } from './config-watcher.ts';
import { InvalidInputError, ModelNotFoundError } from './errors.ts';
import { ModelRepository } from './repository.ts';
import { createRouter, type Router, type RouterBackend } from './router.ts';
import type { ModelSpec } from './served-model.ts';

export const SERVER_NAME = 'elastic-serving-model-server';
export const SERVER_VERSION = '0.1.0';

export interface ModelServerOptions {
  /**
   * The model config file to load and watch; without one, models come only from load calls with a body.
   * @defaultValue process.env.ES_MODEL_CONFIG
   */
  configPath?: string;
  /** @defaultValue a new ModelRepository (file, http(s), s3 storage; env from process.env) */
  repository?: ModelRepository;
  /** @defaultValue the logger `start` receives, else a silent one */
  logger?: Logger;
  /** Options of the config watcher (timings, events). @defaultValue {} */
  watch?: Pick<ModelConfigWatcherOptions, 'debounceMs' | 'pollMs' | 'retryMs' | 'events'>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A load call's own spec: `{"parameters": {"storageUri": "…", "batching": {…}}}` (an extension of ours). */
function specFromBody(body: unknown): ModelSpec | undefined {
  if (body === undefined) return undefined;
  const params = isObject(body) ? body.parameters : undefined;
  if (params === undefined) return undefined;
  if (!isObject(params)) throw new InvalidInputError('"parameters" must be an object');
  const uri = params.storageUri ?? params.storage_uri;
  if (uri === undefined) return undefined;
  if (typeof uri !== 'string' || uri === '')
    throw new InvalidInputError('parameters.storageUri must be a non-empty string');
  const spec: ModelSpec = { storageUri: uri };
  if (isObject(params.batching)) spec.batching = params.batching as ModelSpec['batching'];
  return spec;
}

export class ModelServer implements RouterBackend {
  readonly repository: ModelRepository;
  readonly serverName = SERVER_NAME;
  readonly serverVersion = SERVER_VERSION;
  readonly configPath: string | undefined;
  /** The SDK `http` option: the v2/v1 router. */
  readonly http: (req: HttpRequest) => Promise<HttpAnswer>;
  /** The SDK handler: inference CloudEvents. */
  readonly onEvent: Handler;
  readonly #router: Router;
  readonly #watchOptions: ModelServerOptions['watch'];
  #watcher: ModelConfigWatcher | undefined;
  #logger: Logger;
  #ready = false;

  constructor(options: ModelServerOptions = {}) {
    this.#logger = options.logger ?? pino({ level: 'silent' });
    this.repository = options.repository ?? new ModelRepository({ logger: this.#logger });
    this.configPath = options.configPath ?? (process.env.ES_MODEL_CONFIG || undefined);
    this.#watchOptions = options.watch;
    this.#router = createRouter(this);
    this.http = (req) => this.#router(req);
    this.onEvent = createInferenceHandler(this.repository);
  }

  isReady(): boolean {
    return this.#ready;
  }

  get watcher(): ModelConfigWatcher | undefined {
    return this.#watcher;
  }

  /** Loads every model the config lists (each to READY or UNAVAILABLE), starts watching, then reports ready. */
  async start(logger?: Logger): Promise<void> {
    if (logger) {
      this.#logger = logger;
      this.repository.logger = logger;
    }
    if (this.configPath) {
      this.#watcher = new ModelConfigWatcher({
        path: this.configPath,
        repository: this.repository,
        logger: this.#logger,
        ...this.#watchOptions,
      });
      await this.#watcher.start();
    } else {
      this.#logger.info('no model config (ES_MODEL_CONFIG unset): models come from load calls only');
    }
    this.#ready = true;
    this.#logger.info({ models: this.repository.index() }, 'model server ready');
  }

  /**
   * The repository extension's load: with no spec in the body, `name` as the config file lists it. Resolves
   * when that model is READY; rejects with the reason when its load fails (404 if it is listed nowhere).
   */
  async loadModel(name: string, body: unknown): Promise<void> {
    let spec = specFromBody(body);
    if (!spec) {
      spec = this.#watcher?.specs.get(name);
      if (!spec && this.#watcher) {
        // The platform may call right after rewriting the file, before the watch event arrives.
        await this.#watcher.reconcile();
        spec = this.#watcher.specs.get(name);
      }
      if (!spec) throw new ModelNotFoundError(name, 'It is not listed in the model config.');
      this.#watcher?.adopt(name);
    }
    await this.repository.load(name, spec);
  }

  unloadModel(name: string): Promise<void> {
    return this.repository.unload(name);
  }

  async close(): Promise<void> {
    this.#ready = false;
    this.#watcher?.close();
    await this.repository.close();
  }
}
