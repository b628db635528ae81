import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { sendEvent } from '../../core/http/sender.ts';
import { type EmitTarget, emitChange, type StorageSend, sourcePolicy } from './emitter.ts';
import { storageSourceKey, storageSourceSource } from './events.ts';
import { ObjectLedger } from './ledger.ts';
import {
  type ModeContext,
  type RunningMode,
  StorageSourceNotReadyError,
  startDirectoryMode,
  startS3Mode,
  startWebhookMode,
} from './modes.ts';
import {
  type ResolvedCredentials,
  type SourceHealth,
  type StorageMode,
  type StorageSourceResource,
  storageMode,
} from './types.ts';
import type { StorageWebhookOptions } from './webhook/server.ts';

export { StorageSourceNotReadyError };

/** Options of {@link StorageSourceRunner}. */
export interface StorageSourceRunnerOptions {
  /** State directory; checkpoints live in `<stateDir>/sources/storage/<namespace>/<name>.json`. */
  stateDir: string;
  logger: Logger;
  /** Sends one event to a sink URL. @defaultValue sendEvent (services/core/http/sender.ts) */
  send?: StorageSend;
  /**
   * Base URL where `buildStorageWebhookApp(runner.webhookOptions())` is served, e.g. `http://127.0.0.1:8085`
   * (`serveStorageWebhooks` sets it once listening).
   * @defaultValue undefined: webhook-mode sources are not Ready (WebhookServerDisabled)
   */
  webhookBaseUrl?: string;
  /** Directory a relative `spec.directory.path` is resolved against. @defaultValue process.cwd() */
  cwd?: string;
  /** Environment for S3 defaults and `{ env: NAME }` credentials. @defaultValue process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** Wait before a directory source announces again a change its sink refused. @defaultValue 5000 */
  directoryRetryMs?: number;
}

interface Running extends RunningMode {
  fingerprint: string;
  mode: StorageMode;
  stop: AbortController;
}

/**
 * Runs every StorageSource of a process: a directory watch, an S3 poller or a webhook endpoint each, all emitting
 * `dev.elasticserving.storage.object.created|deleted` to the source's sink with its delivery policy. Watching and
 * polling sources keep a checkpoint in the state directory, so a restart neither repeats nor misses changes.
 */
export class StorageSourceRunner {
  readonly #o: StorageSourceRunnerOptions;
  readonly #send: StorageSend;
  readonly #running = new Map<string, Running>();
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #listeners = new Set<(key: string) => void>();
  #webhookBaseUrl: string | undefined;

  constructor(options: StorageSourceRunnerOptions) {
    this.#o = options;
    this.#webhookBaseUrl = options.webhookBaseUrl?.replace(/\/+$/, '');
    this.#send =
      options.send ??
      (async (event, uri, signal) => {
        const { status, headers, body } = await sendEvent(uri, event, signal);
        return { status, headers, body };
      });
  }

  /**
   * Starts, replaces or keeps a source. `resource.spec.sink.uri` must already be resolved to a URL. Throws
   * {@link StorageSourceNotReadyError} when it cannot run (bucket unreachable, webhook path taken, ...); a source
   * already running under an older spec is stopped first.
   */
  upsert(
    resource: StorageSourceResource,
    credentials: ResolvedCredentials = {},
  ): Promise<'created' | 'updated' | 'unchanged'> {
    const namespace = resource.metadata.namespace || 'default';
    const key = storageSourceKey(namespace, resource.metadata.name);
    return this.#locked(key, async () => {
      const fingerprint = createHash('sha256')
        .update(stableJson({ spec: resource.spec, credentials, cwd: this.#cwd }))
        .digest('hex');
      const existing = this.#running.get(key);
      if (existing?.fingerprint === fingerprint) return 'unchanged';
      if (existing) await this.#close(key, existing, false);
      const running = await this.#start(namespace, resource, credentials, fingerprint);
      this.#running.set(key, running);
      this.#o.logger.info(
        { storagesource: key, mode: running.mode },
        existing ? 'storagesource updated' : 'storagesource started',
      );
      return existing ? 'updated' : 'created';
    });
  }

  /** Stops a source; with `forget` (the resource was deleted) its checkpoint is removed too. */
  remove(key: string, options: { forget?: boolean } = {}): Promise<boolean> {
    return this.#locked(key, async () => {
      const running = this.#running.get(key);
      if (!running) return false;
      await this.#close(key, running, options.forget ?? false);
      this.#o.logger.info({ storagesource: key }, 'storagesource stopped');
      return true;
    });
  }

  /** Stops every source (checkpoints kept). */
  async stopAll(): Promise<void> {
    await Promise.all(this.keys().map((key) => this.remove(key)));
  }

  keys(): string[] {
    return [...this.#running.keys()];
  }

  /** How a running source is doing; `undefined` when it is not running. */
  health(key: string): SourceHealth | undefined {
    return this.#running.get(key)?.health();
  }

  /** The URL a webhook-mode source receives notifications at. */
  webhookUrl(key: string): string | undefined {
    const path = this.#running.get(key)?.webhookPath;
    return path === undefined || this.#webhookBaseUrl === undefined ? undefined : this.#webhookBaseUrl + path;
  }

  /**
   * Where the webhook app is served, once it listens (its port may only be known then). Webhook sources that
   * were refused for lack of a server start on their next reconcile.
   */
  setWebhookBaseUrl(url: string): void {
    this.#webhookBaseUrl = url.replace(/\/+$/, '');
  }

  /** Subscribes to health changes of running sources (e.g. to reconcile them again); returns the unsubscribe. */
  onHealthChange(listener: (key: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** What `buildStorageWebhookApp` needs: the endpoint served at each path. */
  webhookOptions(): Pick<StorageWebhookOptions, 'endpoint'> {
    return {
      endpoint: (path) => {
        for (const r of this.#running.values()) if (r.webhookPath === path) return r.endpoint;
        return undefined;
      },
    };
  }

  get #cwd(): string {
    return this.#o.cwd ?? process.cwd();
  }

  async #locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(key) ?? Promise.resolve();
    const run = previous.catch(() => {}).then(fn);
    this.#locks.set(key, run);
    try {
      return await run;
    } finally {
      if (this.#locks.get(key) === run) this.#locks.delete(key);
    }
  }

  async #start(
    namespace: string,
    resource: StorageSourceResource,
    credentials: ResolvedCredentials,
    fingerprint: string,
  ): Promise<Running> {
    const { name } = resource.metadata;
    const key = storageSourceKey(namespace, name);
    const spec = resource.spec;
    const mode = storageMode(spec);
    const sinkUri = spec.sink.uri;
    if (!sinkUri) throw new StorageSourceNotReadyError('SinkNotResolved', 'spec.sink must be resolved to a URI');
    const stop = new AbortController();
    const logger = this.#o.logger.child({ storagesource: key });
    const target: EmitTarget = {
      sinkUri,
      source: storageSourceSource(namespace, name),
      extensions: spec.ceOverrides?.extensions ?? {},
      policy: sourcePolicy(spec.delivery),
      send: this.#send,
      logger,
      signal: stop.signal,
    };
    const ctx: ModeContext = {
      key,
      namespace,
      name,
      spec,
      credentials,
      emit: (change) => emitChange(target, change),
      logger,
      announceExisting: (spec.existingObjects ?? 'announce') === 'announce',
      notify: () => {
        for (const listener of this.#listeners) listener(key);
      },
      ledgerPath: join(this.#o.stateDir, 'sources', 'storage', namespace, `${name}.json`),
      cwd: this.#cwd,
      env: this.#o.env,
      directoryRetryMs: this.#o.directoryRetryMs,
    };
    const running =
      mode === 'directory'
        ? await startDirectoryMode(ctx)
        : mode === 's3'
          ? await startS3Mode(ctx)
          : startWebhookMode(
              ctx,
              this.#webhookBaseUrl,
              (path) => [...this.#running].find(([other, r]) => other !== key && r.webhookPath === path)?.[0],
            );
    return { ...running, fingerprint, mode, stop };
  }

  async #close(key: string, running: Running, forget: boolean): Promise<void> {
    this.#running.delete(key);
    running.stop.abort();
    try {
      await running.close();
    } finally {
      if (forget && running.ledgerPath) await ObjectLedger.forget(running.ledgerPath);
    }
  }
}

/** JSON with object keys sorted, so a re-read spec with reordered keys is recognised as unchanged. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}
