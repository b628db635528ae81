import { ElasticServingError } from '../core/errors.ts';
import { resolveKind } from './memory-store.ts';
import { type Answer, type ControlApiConnection, ControlApiHttp, errorFromAnswer } from './remote-http.ts';
import { RemoteWatch } from './remote-watch.ts';
import { type KindInfo, kindForApiVersion, splitApiVersion } from './resources/kinds.ts';
import type { Resource, ResourceKey, ResourceStatus } from './resources/types.ts';
import { validateResource } from './resources/validate.ts';
import type {
  ApplyOptions,
  Precondition,
  ResourceList,
  ResourceStore,
  WatchHandle,
  WatchListener,
  WatchOptions,
} from './store.ts';

export interface RemoteStoreOptions extends ControlApiConnection {
  /** First delay before a broken watch reconnects; doubles per consecutive failure. @defaultValue 200 */
  reconnectInitialMs?: number;
  /** @defaultValue 10000 */
  reconnectMaxMs?: number;
  /**
   * `timeoutSeconds` asked per watch request: the server ends the stream then and the watch resumes, so a
   * connection that died without a word is replaced within this (plus a margin). @defaultValue 300
   */
  watchTimeoutSeconds?: number;
  /** Told when a watch breaks and when it will try again. @defaultValue silent */
  onWatchBreak?: (info: { kind: string; err: Error; retryInMs: number }) => void;
}

const DEFAULT_NAMESPACE = 'default';

function collectionPath(apiVersion: string, plural: string, namespace: string | undefined): string {
  const { group, version } = splitApiVersion(apiVersion);
  const ns = namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
  // The core group (Secret) is served under /api/{version}, as in Kubernetes.
  return `${group === '' ? `/api/${version}` : `/apis/${group}/${version}`}${ns}/${plural}`;
}

function objectPath(apiVersion: string, info: KindInfo, namespace: string, name: string): string {
  return `${collectionPath(apiVersion, info.plural, namespace)}/${encodeURIComponent(name)}`;
}

function full(info: KindInfo, key: ResourceKey): Required<ResourceKey> {
  return { kind: info.kind, namespace: key.namespace ?? DEFAULT_NAMESPACE, name: key.name };
}

/**
 * The resource store of a control API in another process (or a Kubernetes API server serving our CRDs), over the
 * Kubernetes REST shape (DESIGN §4): what a service deployed on its own reconciles against. Failures come back as
 * the errors the local stores throw (409 → ConflictError, 404 → NotFoundError, 422 → InvalidResourceError…), and
 * an unreachable API as BackendUnavailableError. Watches list first, then stream, and heal by themselves (see
 * RemoteWatch), so `onError` only ever reports a listener that threw.
 *
 * One difference from the local stores: a watch asked to resume from a resourceVersion the server no longer keeps
 * does not reject. A Kubernetes-shaped server answers such a watch 200 and then an ERROR event (410), so the watch
 * lists again and sends every object as ADDED instead, as an informer does (deletions inside that gap are not seen).
 */
export class RemoteResourceStore implements ResourceStore {
  private readonly http: ControlApiHttp;
  private readonly watches = new Set<RemoteWatch>();

  constructor(private readonly options: RemoteStoreOptions) {
    this.http = new ControlApiHttp(options);
  }

  get server(): string {
    return this.http.server;
  }

  async get(key: ResourceKey): Promise<Resource | undefined> {
    const info = resolveKind(key.kind);
    const k = full(info, key);
    const res = await this.http.send('GET', objectPath(info.preferredApiVersion, info, k.namespace, k.name));
    if (res.status === 404) return undefined;
    return this.ok(res, k);
  }

  async list(kind: string, namespace?: string): Promise<ResourceList> {
    const info = resolveKind(kind);
    const res = await this.http.send('GET', collectionPath(info.preferredApiVersion, info.plural, namespace));
    const body = this.ok<{ items?: Resource[]; metadata?: { resourceVersion?: string } }>(res);
    return { items: body.items ?? [], resourceVersion: body.metadata?.resourceVersion ?? '' };
  }

  async watch(kind: string, listener: WatchListener, options: WatchOptions = {}): Promise<WatchHandle> {
    const info = resolveKind(kind);
    const onBreak = this.options.onWatchBreak;
    const watch = new RemoteWatch(
      {
        http: this.http,
        collection: collectionPath(info.preferredApiVersion, info.plural, options.namespace),
        list: () => this.list(info.kind, options.namespace),
      },
      listener,
      {
        resourceVersion: options.resourceVersion,
        onError: options.onError,
        reconnectInitialMs: this.options.reconnectInitialMs ?? 200,
        reconnectMaxMs: this.options.reconnectMaxMs ?? 10_000,
        watchTimeoutSeconds: this.options.watchTimeoutSeconds ?? 300,
        onBreak: onBreak && ((err, retryInMs) => onBreak({ kind: info.kind, err, retryInMs })),
      },
    );
    await watch.start();
    this.watches.add(watch);
    return {
      close: () => {
        watch.close();
        this.watches.delete(watch);
      },
    };
  }

  async apply(object: unknown, options: ApplyOptions = {}): Promise<Resource> {
    // The same schema errors as a local store, before a round trip; the server runs its own checks as well.
    const input = validateResource(object);
    const info = kindForApiVersion(input.apiVersion, input.kind)!;
    const k = full(info, { kind: info.kind, namespace: input.metadata.namespace, name: input.metadata.name });
    const body = { ...input, metadata: { ...input.metadata, namespace: k.namespace } };
    const dry = options.dryRun === true ? '?dryRun=All' : '';
    const mode = options.mode ?? 'apply';
    let res: Answer;
    if (mode === 'create') {
      res = await this.http.send('POST', collectionPath(input.apiVersion, info.plural, k.namespace) + dry, body);
    } else if (mode === 'update') {
      res = await this.http.send('PUT', objectPath(input.apiVersion, info, k.namespace, k.name) + dry, body);
    } else {
      // Server-side apply: the whole intended object; creates or replaces, honouring a resourceVersion in it.
      const query = `?fieldManager=elastic-serving${dry === '' ? '' : '&dryRun=All'}`;
      const path = objectPath(input.apiVersion, info, k.namespace, k.name) + query;
      res = await this.http.send('PATCH', path, body, 'application/apply-patch+yaml');
    }
    return this.ok(res, k);
  }

  async updateStatus(key: ResourceKey, status: ResourceStatus, options: Precondition = {}): Promise<Resource> {
    const info = resolveKind(key.kind);
    const k = full(info, key);
    const metadata = {
      name: k.name,
      namespace: k.namespace,
      ...(options.resourceVersion === undefined ? {} : { resourceVersion: options.resourceVersion }),
    };
    const body = { apiVersion: info.preferredApiVersion, kind: info.kind, metadata, status };
    const path = `${objectPath(info.preferredApiVersion, info, k.namespace, k.name)}/status`;
    return this.ok(await this.http.send('PUT', path, body), k);
  }

  async delete(key: ResourceKey, options: Precondition & { dryRun?: boolean } = {}): Promise<Resource> {
    const info = resolveKind(key.kind);
    const k = full(info, key);
    const path =
      objectPath(info.preferredApiVersion, info, k.namespace, k.name) + (options.dryRun ? '?dryRun=All' : '');
    const body = {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      ...(options.resourceVersion === undefined ? {} : { preconditions: { resourceVersion: options.resourceVersion } }),
    };
    return this.ok(await this.http.send('DELETE', path, body), k);
  }

  /** Ends every watch and the connection pool. */
  async close(): Promise<void> {
    for (const watch of this.watches) watch.close();
    this.watches.clear();
    await this.http.close();
  }

  private ok<T = Resource>(res: Answer, key?: Required<ResourceKey>): T {
    if (res.status >= 200 && res.status < 300) {
      if (typeof res.body !== 'object' || res.body === null) {
        throw new ElasticServingError('ES_ERR_INTERNAL', `control API answered ${res.status} without a JSON object`);
      }
      return res.body as T;
    }
    throw errorFromAnswer(res.status, res.body, key);
  }
}
