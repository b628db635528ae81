import { randomUUID } from 'node:crypto';
import { ElasticServingError } from '../core/errors.ts';
import { AlreadyExistsError, ConflictError, NotFoundError, ResourceExpiredError } from './errors.ts';
import { jsonEqual } from './json.ts';
import { type KindInfo, kindForApiVersion, kindInfo } from './resources/kinds.ts';
import type { Resource, ResourceKey, ResourceStatus } from './resources/types.ts';
import { type ValidationHooks, validateResource } from './resources/validate.ts';
import type {
  ApplyOptions,
  Precondition,
  ResourceList,
  ResourceStore,
  WatchEvent,
  WatchHandle,
  WatchListener,
  WatchOptions,
} from './store.ts';

export interface MemoryStoreOptions {
  /** Extra checks run on every apply (Trigger filters, DeliverySpec). @defaultValue schema checks only */
  validation?: ValidationHooks;
  /** Changes kept for watches that resume from a resourceVersion. @defaultValue 4096 */
  historyLimit?: number;
  /** Time source for creationTimestamp. @defaultValue `() => new Date()` */
  now?: () => Date;
}

interface Watcher {
  kind: string;
  namespace: string | undefined;
  listener: WatchListener;
  onError: ((err: Error) => void) | undefined;
}

interface HistoryEntry {
  rv: number;
  kind: string;
  event: WatchEvent;
}

const MANAGED = ['uid', 'resourceVersion', 'generation', 'creationTimestamp'] as const;
const DEFAULT_NAMESPACE = 'default';

export function resolveKind(kind: string): KindInfo {
  const info = kindInfo(kind);
  if (info === undefined)
    throw new ElasticServingError('ES_ERR_NOT_FOUND', `unknown resource kind ${JSON.stringify(kind)}`);
  return info;
}

export function storageKey(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

/** Everything but status and the store-managed metadata: what decides whether a write changed anything. */
function content(obj: Resource): Record<string, unknown> {
  const { status: _status, metadata, ...rest } = obj;
  const meta: Record<string, unknown> = { ...metadata };
  for (const field of MANAGED) delete meta[field];
  return { ...rest, metadata: meta };
}

/** Everything outside metadata and status: a change to it bumps `generation`, as for Kubernetes CRDs. */
function body(obj: Resource): Record<string, unknown> {
  const { status: _status, metadata: _metadata, ...rest } = obj;
  return rest;
}

/**
 * The store's logic, in memory. Writes are serialised, so resourceVersions and watch events come in one total
 * order; subclasses make them durable through `persist`/`unpersist`, which run before a change becomes visible.
 */
export class MemoryResourceStore implements ResourceStore {
  protected readonly objects = new Map<string, Resource>();
  protected revision = 0;
  /** Watches may resume from any version >= this one. */
  protected historyFloor = 0;
  private readonly history: HistoryEntry[] = [];
  private readonly watchers = new Set<Watcher>();
  private tail: Promise<unknown> = Promise.resolve();
  private readonly hooks: ValidationHooks;
  private readonly historyLimit: number;
  private readonly now: () => Date;

  constructor(options: MemoryStoreOptions = {}) {
    this.hooks = options.validation ?? {};
    this.historyLimit = options.historyLimit ?? 4096;
    this.now = options.now ?? (() => new Date());
  }

  /** Durably records `obj` (already carrying its new resourceVersion). */
  protected async persist(_obj: Resource, _info: KindInfo): Promise<void> {}

  /** Durably forgets `obj`; `this.revision` already holds the delete's version. */
  protected async unpersist(_obj: Resource, _info: KindInfo): Promise<void> {}

  /** The current global resourceVersion. */
  get resourceVersion(): string {
    return String(this.revision);
  }

  async get(key: ResourceKey): Promise<Resource | undefined> {
    const info = resolveKind(key.kind);
    const found = this.objects.get(storageKey(info.kind, key.namespace ?? DEFAULT_NAMESPACE, key.name));
    return found === undefined ? undefined : structuredClone(found);
  }

  async list(kind: string, namespace?: string): Promise<ResourceList> {
    return this.listNow(resolveKind(kind), namespace);
  }

  private listNow(info: KindInfo, namespace: string | undefined): ResourceList {
    const items = [...this.objects.values()]
      .filter((o) => o.kind === info.kind && (namespace === undefined || o.metadata.namespace === namespace))
      .sort((a, b) =>
        `${a.metadata.namespace}/${a.metadata.name}` < `${b.metadata.namespace}/${b.metadata.name}` ? -1 : 1,
      )
      .map((o) => structuredClone(o));
    return { items, resourceVersion: this.resourceVersion };
  }

  async watch(kind: string, listener: WatchListener, options: WatchOptions = {}): Promise<WatchHandle> {
    const info = resolveKind(kind);
    const watcher: Watcher = { kind: info.kind, namespace: options.namespace, listener, onError: options.onError };
    const matches = (o: Resource) =>
      o.kind === info.kind && (watcher.namespace === undefined || o.metadata.namespace === watcher.namespace);
    const from = options.resourceVersion;
    // Replay and registration happen in one synchronous step, so no change can fall between them.
    if (from === undefined || from === '' || from === '0') {
      const { items } = this.listNow(info, options.namespace);
      for (const object of items) this.deliver(watcher, { type: 'ADDED', object });
    } else {
      const after = Number(from);
      if (!Number.isInteger(after) || after < 0) {
        throw new ElasticServingError('ES_ERR_BAD_REQUEST', `invalid resourceVersion ${JSON.stringify(from)}`);
      }
      if (after < this.historyFloor) {
        throw new ResourceExpiredError(`too old resource version: ${after} (${this.historyFloor})`);
      }
      for (const entry of this.history) {
        if (entry.rv > after && matches(entry.event.object)) this.deliver(watcher, entry.event);
      }
    }
    this.watchers.add(watcher);
    return { close: () => this.watchers.delete(watcher) };
  }

  async apply(object: unknown, options: ApplyOptions = {}): Promise<Resource> {
    // Validation errors surface before queueing behind other writes.
    const input = validateResource(object, this.hooks);
    return this.serial(() => this.applyNow(input, options));
  }

  updateStatus(key: ResourceKey, status: ResourceStatus, options: Precondition = {}): Promise<Resource> {
    return this.serial(async () => {
      const { info, existing } = this.current(key);
      this.checkPrecondition(info, existing, options.resourceVersion);
      if (jsonEqual(existing.status ?? {}, status)) return structuredClone(existing);
      const next: Resource = structuredClone({ ...existing, status });
      next.metadata.resourceVersion = String(this.revision + 1);
      await this.persist(next, info);
      this.commit(info, next, 'MODIFIED');
      return structuredClone(next);
    });
  }

  delete(key: ResourceKey, options: Precondition & { dryRun?: boolean } = {}): Promise<Resource> {
    return this.serial(async () => {
      const { info, existing } = this.current(key);
      this.checkPrecondition(info, existing, options.resourceVersion);
      if (options.dryRun === true) return structuredClone(existing);
      const gone: Resource = structuredClone(existing);
      this.revision += 1;
      gone.metadata.resourceVersion = String(this.revision);
      await this.unpersist(gone, info);
      this.objects.delete(storageKey(info.kind, gone.metadata.namespace ?? DEFAULT_NAMESPACE, gone.metadata.name));
      this.record(info, { type: 'DELETED', object: gone });
      return structuredClone(gone);
    });
  }

  private async applyNow(input: Resource, options: ApplyOptions): Promise<Resource> {
    const info = kindForApiVersion(input.apiVersion, input.kind)!;
    const namespace = input.metadata.namespace ?? DEFAULT_NAMESPACE;
    const name = input.metadata.name;
    const existing = this.objects.get(storageKey(info.kind, namespace, name));
    const mode = options.mode ?? 'apply';
    if (existing !== undefined && mode === 'create') throw new AlreadyExistsError(info.kind, namespace, name);
    if (existing === undefined && mode === 'update') throw new NotFoundError(info.kind, namespace, name);
    const wanted = input.metadata.resourceVersion;
    if (existing === undefined && wanted !== undefined && wanted !== '' && mode !== 'create') {
      throw new ConflictError(
        info.kind,
        namespace,
        name,
        `resourceVersion ${wanted} given but the object does not exist`,
      );
    }
    if (existing !== undefined) {
      this.checkPrecondition(info, existing, wanted === '' ? undefined : wanted);
      if (input.metadata.uid !== undefined && input.metadata.uid !== existing.metadata.uid) {
        throw new ConflictError(
          info.kind,
          namespace,
          name,
          `uid ${input.metadata.uid} does not match the stored object`,
        );
      }
    }

    const { status: _ignored, ...rest } = structuredClone(input);
    const next: Resource = { ...rest, metadata: { ...rest.metadata, namespace } };
    for (const field of MANAGED) delete next.metadata[field];
    if (existing !== undefined && jsonEqual(content(existing), content(next))) return structuredClone(existing);

    next.metadata.uid = existing?.metadata.uid ?? randomUUID();
    next.metadata.creationTimestamp =
      existing?.metadata.creationTimestamp ??
      this.now()
        .toISOString()
        .replace(/\.\d+Z$/, 'Z');
    const generation = existing?.metadata.generation ?? 0;
    next.metadata.generation =
      existing !== undefined && jsonEqual(body(existing), body(next)) ? generation : generation + 1;
    if (existing?.status !== undefined) next.status = existing.status;
    if (options.dryRun === true) {
      if (existing !== undefined) next.metadata.resourceVersion = existing.metadata.resourceVersion;
      return next;
    }
    next.metadata.resourceVersion = String(this.revision + 1);
    await this.persist(next, info);
    this.commit(info, next, existing === undefined ? 'ADDED' : 'MODIFIED');
    return structuredClone(next);
  }

  private current(key: ResourceKey): { info: KindInfo; existing: Resource } {
    const info = resolveKind(key.kind);
    const namespace = key.namespace ?? DEFAULT_NAMESPACE;
    const existing = this.objects.get(storageKey(info.kind, namespace, key.name));
    if (existing === undefined) throw new NotFoundError(info.kind, namespace, key.name);
    return { info, existing };
  }

  private checkPrecondition(info: KindInfo, existing: Resource, wanted: string | undefined): void {
    if (wanted !== undefined && wanted !== existing.metadata.resourceVersion) {
      throw new ConflictError(
        info.kind,
        existing.metadata.namespace ?? DEFAULT_NAMESPACE,
        existing.metadata.name,
        `the object has been modified (resourceVersion ${wanted} is not the current ${existing.metadata.resourceVersion}); read it again and retry`,
      );
    }
  }

  /** Makes a persisted write visible. `next` carries resourceVersion revision+1. */
  private commit(info: KindInfo, next: Resource, type: 'ADDED' | 'MODIFIED'): void {
    this.revision = Number(next.metadata.resourceVersion);
    this.objects.set(storageKey(info.kind, next.metadata.namespace ?? DEFAULT_NAMESPACE, next.metadata.name), next);
    this.record(info, { type, object: structuredClone(next) });
  }

  private record(info: KindInfo, event: WatchEvent): void {
    this.history.push({ rv: this.revision, kind: info.kind, event });
    while (this.history.length > this.historyLimit) this.historyFloor = this.history.shift()!.rv;
    for (const watcher of this.watchers) {
      if (watcher.kind !== info.kind) continue;
      if (watcher.namespace !== undefined && watcher.namespace !== event.object.metadata.namespace) continue;
      this.deliver(watcher, event);
    }
  }

  private deliver(watcher: Watcher, event: WatchEvent): void {
    try {
      watcher.listener({ type: event.type, object: structuredClone(event.object) });
    } catch (err) {
      // One broken listener must not stop the others or the write that triggered it.
      watcher.onError?.(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Runs writes one at a time, in call order; a failed write does not block the next. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }
}
