import { readdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { syncDir, TEMP_SUFFIX, writeFileAtomic } from './atomic-file.ts';
import { MemoryResourceStore, type MemoryStoreOptions, storageKey } from './memory-store.ts';
import { type KindInfo, kindInfo } from './resources/kinds.ts';
import type { Resource } from './resources/types.ts';

export interface FileStoreOptions extends MemoryStoreOptions {
  /** State directory; resources live under `<dir>/resources/`. @defaultValue '.elastic-serving' */
  dir?: string;
  /** Told about files that could not be loaded (they are skipped, not deleted). @defaultValue console.warn */
  onLoadError?: (file: string, err: Error) => void;
}

const COUNTER_FILE = 'resource-version';

/**
 * The embedded platform's store: one JSON file per object at `<dir>/resources/<plural>/<namespace>/<name>.json`,
 * each written atomically, plus the global resourceVersion counter (written on delete, the only change that
 * leaves no object file to carry it). Open it with `FileResourceStore.open()`, which loads what is there.
 */
export class FileResourceStore extends MemoryResourceStore {
  readonly root: string;

  private constructor(options: FileStoreOptions) {
    super(options);
    this.root = join(options.dir ?? '.elastic-serving', 'resources');
  }

  static async open(options: FileStoreOptions = {}): Promise<FileResourceStore> {
    const store = new FileResourceStore(options);
    await store.load(
      options.onLoadError ?? ((file, err) => console.warn(`elastic-serving: skipped ${file}: ${err.message}`)),
    );
    return store;
  }

  private fileOf(obj: Resource, info: KindInfo): string {
    return join(this.root, info.plural, obj.metadata.namespace ?? 'default', `${obj.metadata.name}.json`);
  }

  protected override async persist(obj: Resource, info: KindInfo): Promise<void> {
    await writeFileAtomic(this.fileOf(obj, info), `${JSON.stringify(obj, null, 2)}\n`);
  }

  protected override async unpersist(obj: Resource, info: KindInfo): Promise<void> {
    // The counter first: if we crash between the two, the object comes back rather than its version going back.
    await writeFileAtomic(join(this.root, COUNTER_FILE), `${this.revision}\n`);
    const file = this.fileOf(obj, info);
    await rm(file, { force: true });
    await syncDir(dirname(file));
  }

  private async load(onError: (file: string, err: Error) => void): Promise<void> {
    let max = 0;
    try {
      max = Number((await readFile(join(this.root, COUNTER_FILE), 'utf8')).trim()) || 0;
    } catch {
      // A fresh state directory has no counter yet.
    }
    const entries = await readdir(this.root, { recursive: true, withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      // Node < 20.12 names the folder `path`, later ones `parentPath`.
      const folder = entry.parentPath ?? (entry as unknown as { path: string }).path;
      const file = join(folder, entry.name);
      if (entry.name.endsWith(TEMP_SUFFIX)) {
        await rm(file, { force: true });
        continue;
      }
      if (!entry.name.endsWith('.json')) continue;
      try {
        const obj = JSON.parse(await readFile(file, 'utf8')) as Resource;
        const info = kindInfo(obj.kind);
        if (info === undefined || obj.metadata?.name === undefined) throw new Error('not a resource this store knows');
        const rv = Number(obj.metadata.resourceVersion);
        if (!Number.isInteger(rv)) throw new Error('no resourceVersion');
        max = Math.max(max, rv);
        this.objects.set(storageKey(info.kind, obj.metadata.namespace ?? 'default', obj.metadata.name), obj);
      } catch (err) {
        onError(file, err instanceof Error ? err : new Error(String(err)));
      }
    }
    this.revision = max;
    // Nothing before this run is in the watch history.
    this.historyFloor = max;
  }
}
