import { join } from 'node:path';
import { writeFileAtomic } from '../../controller/atomic-file.ts';
import type { BatchingSpec } from '../../controller/resources/inference.ts';

/** One entry of a model server's config file: KServe's model-agent `models.json` shape, plus our batching. */
export interface ModelConfigEntry {
  modelName: string;
  modelSpec: {
    storageUri: string;
    framework: string;
    memory?: string;
    batching?: BatchingSpec;
    /** Changes when the object behind `storageUri` changes, so a server reloads a model whose URI stayed. */
    version?: string;
  };
}

/**
 * The models each InferenceService's replicas must hold, written to one file per InferenceService that every
 * replica reads at start and watches (like KServe's model agent watching its mounted ConfigMap). A replica added
 * by scale-out therefore loads every assigned model before it reports ready.
 */
export class ModelConfigs {
  readonly #entries = new Map<string, Map<string, ModelConfigEntry>>();
  readonly #writes = new Map<string, Promise<void>>();

  constructor(private readonly stateDir: string) {}

  /** Absolute path of the config file of InferenceService `isvcKey` (`ns/name`). */
  file(isvcKey: string): string {
    return join(this.stateDir, 'models', ...isvcKey.split('/'), 'models.json');
  }

  entries(isvcKey: string): ModelConfigEntry[] {
    return [...(this.#entries.get(isvcKey)?.values() ?? [])].sort((a, b) => a.modelName.localeCompare(b.modelName));
  }

  get(isvcKey: string, model: string): ModelConfigEntry | undefined {
    return this.#entries.get(isvcKey)?.get(model);
  }

  /** Sets (or with `undefined` removes) one model and writes the file; resolves once the file is replaced. */
  async set(isvcKey: string, model: string, entry: ModelConfigEntry | undefined): Promise<string> {
    let models = this.#entries.get(isvcKey);
    if (!models) this.#entries.set(isvcKey, (models = new Map()));
    if (entry) models.set(model, entry);
    else models.delete(model);
    return this.write(isvcKey);
  }

  /** Writes the file from the current entries; concurrent writes of one file are serialised, the last one wins. */
  write(isvcKey: string): Promise<string> {
    const path = this.file(isvcKey);
    const previous = this.#writes.get(isvcKey) ?? Promise.resolve();
    const next = previous
      .catch(() => {})
      .then(() => writeFileAtomic(path, `${JSON.stringify(this.entries(isvcKey), null, 2)}\n`));
    this.#writes.set(isvcKey, next);
    return next.then(() => path);
  }

  forget(isvcKey: string): void {
    this.#entries.delete(isvcKey);
  }
}
