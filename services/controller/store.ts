import type { Resource, ResourceKey, ResourceStatus } from './resources/types.ts';

/**
 * The resource store contract (DESIGN §4): the file-backed store of the embedded platform and, in cluster mode,
 * the Kubernetes API implement it, so reconcilers never know which one they talk to.
 *
 * Objects are keyed by canonical kind + namespace + name, whatever API group they were written in, so a Knative
 * `eventing.knative.dev/v1` Trigger and an `eventing.elastic-serving.dev/v1` Trigger named alike are one object.
 * Every method hands out copies: mutating a returned object never changes the store.
 */
export interface ResourceStore {
  /** The object, or `undefined` when there is none. */
  get(key: ResourceKey): Promise<Resource | undefined>;
  /** Objects of one kind (canonical kind or plural), in one namespace or all, sorted by namespace then name. */
  list(kind: string, namespace?: string): Promise<ResourceList>;
  /**
   * Streams changes of one kind, in the order they were made. Without `resourceVersion` (or with `"0"`) every
   * existing object is first sent as ADDED; with one, every change after it is replayed first. Rejects with
   * `ResourceExpiredError` when that version is older than the history kept (the client should list again).
   */
  watch(kind: string, listener: WatchListener, options?: WatchOptions): Promise<WatchHandle>;
  /**
   * Creates or replaces an object after validating it. `status` in the input is ignored (use updateStatus). A
   * write that changes nothing returns the stored object untouched (no new resourceVersion, no event).
   * @throws InvalidResourceError, ConflictError (stale `metadata.resourceVersion`), AlreadyExistsError, NotFoundError
   */
  apply(object: unknown, options?: ApplyOptions): Promise<Resource>;
  /** Replaces `status` only; bumps resourceVersion, never generation. Equal status is a no-op. */
  updateStatus(key: ResourceKey, status: ResourceStatus, options?: Precondition): Promise<Resource>;
  /** Deletes at once (no finalizers) and returns the object as it was deleted, with its final resourceVersion. */
  delete(key: ResourceKey, options?: Precondition & { dryRun?: boolean }): Promise<Resource>;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent {
  type: WatchEventType;
  object: Resource;
}

export type WatchListener = (event: WatchEvent) => void;

export interface WatchOptions {
  /** Only this namespace. @defaultValue all namespaces */
  namespace?: string;
  /** Resume after this version. @defaultValue current state first, as ADDED events */
  resourceVersion?: string;
  /** Called if the watch breaks after it started (never for the file store). @defaultValue ignore */
  onError?: (err: Error) => void;
}

export interface WatchHandle {
  close(): void;
}

export interface ResourceList {
  items: Resource[];
  /** The store's version when the list was taken: watch from it to miss nothing. */
  resourceVersion: string;
}

export interface Precondition {
  /** When set, the write fails with ConflictError unless it is the current version. @defaultValue no check */
  resourceVersion?: string;
}

export interface ApplyOptions {
  /** `create` fails if the object exists, `update` if it does not. @defaultValue 'apply' (either) */
  mode?: 'apply' | 'create' | 'update';
  /** Validate and check preconditions, store nothing. @defaultValue false */
  dryRun?: boolean;
}
