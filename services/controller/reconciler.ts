import { type ConditionInput, markNotReady, markReady, READY, setConditions } from './conditions.ts';
import { NotFoundError } from './errors.ts';
import type { Resource, ResourceStatus } from './resources/types.ts';
import type { ResourceStore, WatchEvent, WatchHandle } from './store.ts';

/**
 * What a reconcile reports: status fields to set, and conditions merged by type. Without a `Ready` condition
 * the object is marked Ready=True; `observedGeneration` is always set to the generation reconciled.
 */
export interface StatusPatch {
  conditions?: ConditionInput[];
  address?: { url?: string; name?: string };
  [field: string]: unknown;
}

export interface ReconcileContext {
  /** Reconcile this object again after `ms` even if nothing changes (e.g. to poll a replica). */
  requeueAfter(ms: number): void;
  /** Aborted when the reconciler stops. */
  signal: AbortSignal;
}

// biome-ignore lint/suspicious/noConfusingVoidType: lets a reconcile be `async () => {}` when it has nothing to report.
export type ReconcileFn = (obj: Resource, ctx: ReconcileContext) => Promise<StatusPatch | void>;
export type DeleteFn = (obj: Resource) => Promise<void>;

export interface ReconcilerOptions {
  /** Objects reconciled at once (never the same object twice). @defaultValue 4 */
  concurrency?: number;
  /** First retry delay after a failure; doubles per failure. @defaultValue 100 */
  backoffInitialMs?: number;
  /** @defaultValue 30000 */
  backoffMaxMs?: number;
  /** Reconcile every object again this often; 0 = never. @defaultValue 0 */
  resyncMs?: number;
  /** Only this namespace. @defaultValue all */
  namespace?: string;
  /** Where failures are reported (pino-compatible). @defaultValue silent */
  logger?: { warn(obj: object, msg: string): void };
  /** @defaultValue `() => new Date()` */
  now?: () => Date;
  /**
   * Write status after each reconcile (success and failure). `false` makes an observer: the process acts on the
   * objects (failures still back off and retry) while another process owns their status, as the router does with
   * Brokers whose status the ingress writes. @defaultValue true
   */
  writeStatus?: boolean;
}

export interface Reconciler {
  /** Resolves when nothing is queued or running (pending backoff/requeue timers do not count). */
  idle(): Promise<void>;
  /** Stops watching, cancels timers, waits for running reconciles. */
  stop(): Promise<void>;
  /**
   * Reconciles at once every known object that `match` selects, skipping any backoff wait: for dependencies
   * (a Broker that became ready requeues its Triggers).
   */
  enqueueWhere(match: (obj: Resource) => boolean): void;
}

interface Item {
  latest: Resource | undefined;
  deleted: Resource | undefined;
  running: boolean;
  dirty: boolean;
  failures: number;
  timer: NodeJS.Timeout | undefined;
}

function keyOf(obj: Resource): string {
  return `${obj.metadata.namespace ?? 'default'}/${obj.metadata.name}`;
}

/** Everything but status and resourceVersion: what a reconcile depends on. */
function fingerprint(obj: Resource): string {
  const { status: _s, metadata, ...rest } = obj;
  const { resourceVersion: _rv, ...meta } = metadata;
  return JSON.stringify({ ...rest, metadata: meta });
}

function reasonOf(err: unknown): string {
  const reason = (err as { reason?: unknown } | null)?.reason;
  return typeof reason === 'string' && /^[A-Za-z]+$/.test(reason) ? reason : 'ReconcileFailed';
}

/** The status a successful reconcile leads to. */
export function statusAfter(
  current: ResourceStatus | undefined,
  patch: StatusPatch | undefined,
  generation: number | undefined,
  now: Date,
): ResourceStatus {
  const { conditions, ...fields } = patch ?? {};
  let status: ResourceStatus = { ...current, ...fields };
  if (generation !== undefined) status.observedGeneration = generation;
  status = setConditions(status, conditions ?? [], now);
  if (!(conditions ?? []).some((c) => c.type === READY)) status = markReady(status, undefined, undefined, now);
  return status;
}

/**
 * Drives `reconcile` from the store's watch for one kind: each object has its own queue slot, so it is never
 * reconciled twice at once and a burst of changes collapses into one run on the latest version. A failure sets
 * Ready=False with the error's message (reason from `err.reason`, else ReconcileFailed) and retries with
 * exponential backoff; `onDelete` runs once an object is gone (retried the same way).
 */
export async function runReconciler(
  store: ResourceStore,
  kind: string,
  reconcile: ReconcileFn,
  onDelete?: DeleteFn,
  options: ReconcilerOptions = {},
): Promise<Reconciler> {
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const initial = options.backoffInitialMs ?? 100;
  const max = options.backoffMaxMs ?? 30_000;
  const now = options.now ?? (() => new Date());
  const items = new Map<string, Item>();
  const queue: string[] = [];
  const queued = new Set<string>();
  const abort = new AbortController();
  const idleWaiters: (() => void)[] = [];
  const runs = new Set<Promise<void>>();
  let active = 0;
  let stopped = false;

  const itemOf = (key: string): Item => {
    let item = items.get(key);
    if (item === undefined) {
      item = { latest: undefined, deleted: undefined, running: false, dirty: false, failures: 0, timer: undefined };
      items.set(key, item);
    }
    return item;
  };

  const checkIdle = () => {
    if (active === 0 && queue.length === 0) for (const resolve of idleWaiters.splice(0)) resolve();
  };

  const enqueue = (key: string) => {
    if (stopped) return;
    const item = itemOf(key);
    if (item.timer !== undefined) {
      clearTimeout(item.timer);
      item.timer = undefined;
    }
    if (item.running) {
      item.dirty = true;
      return;
    }
    if (!queued.has(key)) {
      queued.add(key);
      queue.push(key);
    }
    pump();
  };

  const later = (key: string, ms: number) => {
    if (stopped) return;
    const item = itemOf(key);
    if (item.timer !== undefined) clearTimeout(item.timer);
    item.timer = setTimeout(() => {
      item.timer = undefined;
      enqueue(key);
    }, ms);
    item.timer.unref();
  };

  const backoff = (failures: number) => Math.min(max, initial * 2 ** Math.max(0, failures - 1));

  const writeStatus = async (obj: Resource, status: ResourceStatus) => {
    if (options.writeStatus === false) return;
    try {
      await store.updateStatus({ kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name }, status);
    } catch (err) {
      // Deleted while we worked on it: the DELETED event takes over.
      if (!(err instanceof NotFoundError)) throw err;
    }
  };

  const work = async (key: string, item: Item) => {
    const obj = item.latest;
    if (obj === undefined) {
      const gone = item.deleted;
      if (gone === undefined || onDelete === undefined) {
        items.delete(key);
        return;
      }
      try {
        await onDelete(gone);
        if (item.latest === undefined && !item.dirty) items.delete(key);
      } catch (err) {
        item.failures += 1;
        options.logger?.warn({ err, object: key, kind }, 'onDelete failed; retrying');
        later(key, backoff(item.failures));
      }
      return;
    }
    let requeue: number | undefined;
    const ctx: ReconcileContext = {
      requeueAfter: (ms) => {
        requeue = requeue === undefined ? ms : Math.min(requeue, ms);
      },
      signal: abort.signal,
    };
    try {
      const patch = await reconcile(obj, ctx);
      await writeStatus(obj, statusAfter(obj.status, patch ?? undefined, obj.metadata.generation, now()));
      item.failures = 0;
      if (requeue !== undefined) later(key, requeue);
    } catch (err) {
      item.failures += 1;
      const message = err instanceof Error ? err.message : String(err);
      options.logger?.warn({ err, object: key, kind, failures: item.failures }, 'reconcile failed; retrying');
      try {
        let status = markNotReady(obj.status, reasonOf(err), message, now());
        if (obj.metadata.generation !== undefined) status = { ...status, observedGeneration: obj.metadata.generation };
        await writeStatus(obj, status);
      } catch (statusErr) {
        options.logger?.warn({ err: statusErr, object: key, kind }, 'could not write failure status');
      }
      later(key, backoff(item.failures));
    }
  };

  const pump = () => {
    while (!stopped && active < concurrency && queue.length > 0) {
      const key = queue.shift()!;
      queued.delete(key);
      const item = itemOf(key);
      item.running = true;
      active += 1;
      const run = work(key, item).finally(() => {
        item.running = false;
        active -= 1;
        runs.delete(run);
        if (item.dirty) {
          item.dirty = false;
          enqueue(key);
        }
        pump();
        checkIdle();
      });
      runs.add(run);
    }
  };

  const onEvent = (event: WatchEvent) => {
    const key = keyOf(event.object);
    const item = itemOf(key);
    if (event.type === 'DELETED') {
      item.latest = undefined;
      item.deleted = event.object;
      item.failures = 0;
    } else {
      const previous = item.latest;
      item.latest = event.object;
      item.deleted = undefined;
      // A change to status alone (our own writes included) needs no reconcile; retries come from the backoff timer.
      if (event.type === 'MODIFIED' && previous !== undefined && fingerprint(previous) === fingerprint(event.object))
        return;
    }
    enqueue(key);
  };

  let handle: WatchHandle | undefined;
  const startWatch = async (): Promise<void> => {
    handle = await store.watch(kind, onEvent, {
      ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
      onError: (err) => {
        options.logger?.warn({ err, kind }, 'watch broke; restarting');
        handle?.close();
        const t = setTimeout(() => {
          if (!stopped) startWatch().catch(() => undefined);
        }, initial);
        t.unref();
      },
    });
  };
  await startWatch();

  const resync =
    options.resyncMs !== undefined && options.resyncMs > 0
      ? setInterval(() => {
          for (const [key, item] of items) if (item.latest !== undefined) enqueue(key);
        }, options.resyncMs)
      : undefined;
  resync?.unref();

  return {
    enqueueWhere: (match) => {
      for (const [key, item] of items) if (item.latest !== undefined && match(item.latest)) enqueue(key);
    },
    idle: () =>
      new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        checkIdle();
      }),
    stop: async () => {
      stopped = true;
      handle?.close();
      if (resync !== undefined) clearInterval(resync);
      for (const item of items.values()) if (item.timer !== undefined) clearTimeout(item.timer);
      abort.abort();
      queue.length = 0;
      queued.clear();
      await Promise.allSettled([...runs]);
      checkIdle();
    },
  };
}
