import Fastify, {
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import { parse as parseYaml } from 'yaml';
import { ElasticServingError } from '../core/errors.ts';
import { bearerMatches, PUBLIC_PATHS } from './api-auth.ts';
import { apiGroupDoc, apiGroupList, apiResourceList, coreApiVersions, kindAt } from './api-discovery.ts';
import { type LogApiOptions, registerLogRoute } from './api-logs.ts';
import { failure, statusFromError } from './api-status.ts';
import { streamWatch } from './api-watch.ts';
import { ConflictError, NotFoundError } from './errors.ts';
import { JsonPatchError, jsonPatch, mergePatch } from './json.ts';
import type { KindInfo } from './resources/kinds.ts';
import type { Resource } from './resources/types.ts';
import { type ValidationHooks, validateResource } from './resources/validate.ts';
import { parseFieldSelector, parseLabelSelector } from './selectors.ts';
import type { ResourceStore } from './store.ts';

export interface ControlApiOptions extends LogApiOptions {
  /** Where resources live. */
  store: ResourceStore;
  /** When set, every request but `/healthz` needs `Authorization: Bearer <token>`. @defaultValue no auth */
  token?: string;
  /**
   * Checks run before the store sees a write (for stores that do not run them themselves, like a cluster).
   * @defaultValue schema checks only (and whatever the store runs)
   */
  validation?: ValidationHooks;
}

interface Params {
  /** Absent on core-group routes (`/api/v1/…`). */
  group?: string;
  version: string;
  namespace?: string;
  plural: string;
  name?: string;
}

interface Query {
  watch?: string;
  resourceVersion?: string;
  timeoutSeconds?: string;
  labelSelector?: string;
  fieldSelector?: string;
  dryRun?: string;
}

type Req = FastifyRequest<{ Params: Params; Querystring: Query; Body: unknown }>;

const JSON_PATCHES = [
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/json-patch+json',
];
const YAML_TYPES = ['application/apply-patch+yaml', 'application/yaml', 'application/x-yaml'];
const PATCH_RETRIES = 5;

function badRequest(message: string): ElasticServingError {
  return new ElasticServingError('ES_ERR_BAD_REQUEST', message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `group/version`, or the bare version for the core group (`v1`). */
function apiVersionOf(params: Params): string {
  return params.group === undefined || params.group === '' ? params.version : `${params.group}/${params.version}`;
}

function resolve(params: Params): KindInfo {
  const info = kindAt(params.group ?? '', params.version, params.plural);
  if (info === undefined)
    throw new ElasticServingError('ES_ERR_NOT_FOUND', 'the server could not find the requested resource');
  return info;
}

function isTrue(value: string | undefined): boolean {
  return value === 'true' || value === '1';
}

/**
 * Fills what the URL implies (apiVersion, kind, namespace) and refuses a body that contradicts it, as the
 * Kubernetes API server does.
 */
function bodyFor(req: Req, info: KindInfo): Record<string, unknown> {
  const { namespace, name } = req.params;
  const body = req.body;
  if (!isRecord(body)) throw badRequest('the request body must be a JSON or YAML object');
  const apiVersion = apiVersionOf(req.params);
  body.apiVersion ??= apiVersion;
  body.kind ??= info.kind;
  if (body.apiVersion !== apiVersion) {
    throw badRequest(
      `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${apiVersion})`,
    );
  }
  if (body.kind !== info.kind) {
    throw badRequest(`the kind in the data (${String(body.kind)}) does not match the expected kind (${info.kind})`);
  }
  if (!isRecord(body.metadata)) body.metadata = {};
  const meta = body.metadata as Record<string, unknown>;
  meta.namespace ??= namespace;
  if (meta.namespace !== namespace) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  if (name !== undefined) {
    meta.name ??= name;
    if (meta.name !== name) throw badRequest('the name of the object does not match the name on the URL');
  }
  return body;
}

function contentType(req: FastifyRequest): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

function patched(current: Resource, req: Req): unknown {
  const type = contentType(req);
  try {
    if (type === 'application/json-patch+json') return jsonPatch(current, req.body);
    return mergePatch(current, req.body);
  } catch (err) {
    if (err instanceof JsonPatchError) {
      throw new ElasticServingError('ES_ERR_INVALID_RESOURCE', `the patch could not be applied: ${err.message}`);
    }
    throw err;
  }
}

/**
 * The control API in the Kubernetes REST shape (DESIGN §4), so the CLI, reconcilers in another process and
 * @kubernetes/client-node's generic object API all work against it. Registered unencapsulated: it owns the
 * server's error and not-found handlers, so every failure is a `Status`.
 */
export const controlApi: FastifyPluginAsync<ControlApiOptions> = async (app, opts) => {
  const { store } = opts;
  const hooks = opts.validation ?? {};
  const openWatches = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...openWatches]) end();
  });
  const check = (obj: unknown) => {
    validateResource(obj, hooks);
  };

  for (const type of JSON_PATCHES) {
    app.addContentTypeParser(type, { parseAs: 'string' }, (_req, text, done) => {
      try {
        done(null, JSON.parse(text as string));
      } catch (err) {
        done(badRequest(`invalid JSON: ${(err as Error).message}`), undefined);
      }
    });
  }
  app.addContentTypeParser(YAML_TYPES, { parseAs: 'string' }, (_req, text, done) => {
    try {
      done(null, parseYaml(text as string));
    } catch (err) {
      done(badRequest(`invalid YAML: ${(err as Error).message}`), undefined);
    }
  });

  app.addHook('onRequest', async (req, reply) => {
    if (opts.token === undefined || PUBLIC_PATHS.has(req.url.split('?')[0]!)) return;
    if (!bearerMatches(req.headers.authorization, opts.token)) {
      reply.code(401).header('www-authenticate', 'Bearer').send(failure(401, 'Unauthorized'));
      return reply;
    }
  });

  app.setErrorHandler((err, req, reply) => {
    const p = (req.params ?? {}) as Partial<Params>;
    const status = statusFromError(err, {
      ...(p.name === undefined ? {} : { name: p.name }),
      ...(p.group === undefined ? {} : { group: p.group }),
      ...(p.plural === undefined ? {} : { kind: p.plural }),
    });
    if (status.code >= 500) req.log.error({ err }, 'control API request failed');
    reply.code(status.code).send(status);
  });
  app.setNotFoundHandler((_req, reply) => {
    reply.code(404).send(failure(404, 'the server could not find the requested resource'));
  });

  // Named groups live under /apis/{group}/{version}, the core group (Secret) under /api/{version}, as in Kubernetes.
  const route = (
    method: 'get' | 'post' | 'put' | 'patch' | 'delete',
    tail: string,
    handler: (req: Req, reply: FastifyReply) => Promise<unknown>,
  ) => {
    for (const prefix of ['/apis/:group/:version', '/api/:version']) app[method](`${prefix}${tail}`, handler);
  };

  app.get('/healthz', async () => 'ok');
  app.get('/version', async () => ({
    major: '1',
    minor: '30',
    gitVersion: 'v1.30.0-elastic-serving',
    platform: `${process.platform}/${process.arch}`,
  }));
  app.get('/apis', async () => apiGroupList());
  app.get<{ Params: { group: string } }>('/apis/:group', async (req) => {
    const doc = apiGroupDoc(req.params.group);
    if (doc === undefined)
      throw new ElasticServingError('ES_ERR_NOT_FOUND', 'the server could not find the requested resource');
    return doc;
  });
  app.get('/api', async () => coreApiVersions());
  app.get<{ Params: { version: string } }>('/api/:version', async (req) => {
    const doc = apiResourceList('', req.params.version);
    if (doc === undefined)
      throw new ElasticServingError('ES_ERR_NOT_FOUND', 'the server could not find the requested resource');
    return doc;
  });
  app.get<{ Params: { group: string; version: string } }>('/apis/:group/:version', async (req) => {
    const doc = apiResourceList(req.params.group, req.params.version);
    if (doc === undefined)
      throw new ElasticServingError('ES_ERR_NOT_FOUND', 'the server could not find the requested resource');
    return doc;
  });

  const list = async (req: Req, reply: FastifyReply) => {
    const info = resolve(req.params);
    const { namespace } = req.params;
    const q = req.query;
    const labels = parseLabelSelector(q.labelSelector);
    const fields = parseFieldSelector(q.fieldSelector);
    const selector = (o: Resource) => labels(o) && fields(o);
    if (isTrue(q.watch)) {
      await streamWatch(store, reply, {
        info,
        namespace,
        resourceVersion: q.resourceVersion,
        timeoutSeconds: q.timeoutSeconds === undefined ? undefined : Number(q.timeoutSeconds),
        selector,
        target: { group: req.params.group, kind: req.params.plural },
        open: openWatches,
      });
      return reply;
    }
    const { items, resourceVersion } = await store.list(info.kind, namespace);
    return {
      apiVersion: apiVersionOf(req.params),
      kind: `${info.kind}List`,
      metadata: { resourceVersion },
      items: items.filter(selector),
    };
  };
  route('get', '/:plural', list);
  route('get', '/namespaces/:namespace/:plural', list);

  route('post', '/namespaces/:namespace/:plural', async (req: Req, reply) => {
    const info = resolve(req.params);
    const body = bodyFor(req, info);
    check(body);
    const created = await store.apply(body, { mode: 'create', dryRun: req.query.dryRun !== undefined });
    return reply.code(201).send(created);
  });

  const getOne = async (req: Req, reply: FastifyReply) => {
    const info = resolve(req.params);
    const { namespace, name } = req.params as Required<Params>;
    if (isTrue(req.query.watch)) {
      req.query.fieldSelector = `metadata.name=${name}`;
      return list(req, reply);
    }
    const found = await store.get({ kind: info.kind, namespace, name });
    if (found === undefined) throw new NotFoundError(info.kind, namespace, name);
    return found;
  };
  route('get', '/namespaces/:namespace/:plural/:name', getOne);
  route('get', '/namespaces/:namespace/:plural/:name/status', getOne);
  registerLogRoute(app, opts, openWatches);

  route('put', '/namespaces/:namespace/:plural/:name', async (req: Req) => {
    const info = resolve(req.params);
    const body = bodyFor(req, info);
    check(body);
    return store.apply(body, { mode: 'update', dryRun: req.query.dryRun !== undefined });
  });

  route('patch', '/namespaces/:namespace/:plural/:name', async (req: Req) => {
    const info = resolve(req.params);
    const { namespace, name } = req.params as Required<Params>;
    const dryRun = req.query.dryRun !== undefined;
    if (YAML_TYPES.includes(contentType(req))) {
      // Server-side apply, simplified: the body is the whole intended object; it creates or replaces.
      const body = bodyFor(req, info);
      check(body);
      return store.apply(body, { dryRun });
    }
    for (let attempt = 1; ; attempt++) {
      const current = await store.get({ kind: info.kind, namespace, name });
      if (current === undefined) throw new NotFoundError(info.kind, namespace, name);
      const next = patched(current, req);
      if (isRecord(next) && isRecord(next.metadata)) {
        // A patch that names a resourceVersion is a precondition; otherwise guard against racing writers.
        next.metadata.resourceVersion ??= current.metadata.resourceVersion;
      }
      check(next);
      try {
        return await store.apply(next, { mode: 'update', dryRun });
      } catch (err) {
        const pinned =
          isRecord(req.body) && isRecord(req.body.metadata) && req.body.metadata.resourceVersion !== undefined;
        if (!(err instanceof ConflictError) || pinned || attempt >= PATCH_RETRIES) throw err;
      }
    }
  });

  route('delete', '/namespaces/:namespace/:plural/:name', async (req: Req) => {
    const info = resolve(req.params);
    const { namespace, name } = req.params as Required<Params>;
    const body = isRecord(req.body) ? req.body : {};
    const pre = isRecord(body.preconditions) ? body.preconditions : {};
    return store.delete(
      { kind: info.kind, namespace, name },
      {
        ...(typeof pre.resourceVersion === 'string' ? { resourceVersion: pre.resourceVersion } : {}),
        dryRun: req.query.dryRun !== undefined,
      },
    );
  });

  route('put', '/namespaces/:namespace/:plural/:name/status', async (req: Req) => {
    const info = resolve(req.params);
    const { namespace, name } = req.params as Required<Params>;
    const body = bodyFor(req, info);
    const meta = body.metadata as Record<string, unknown>;
    const status = isRecord(body.status) ? body.status : {};
    return store.updateStatus(
      { kind: info.kind, namespace, name },
      status,
      typeof meta.resourceVersion === 'string' ? { resourceVersion: meta.resourceVersion } : {},
    );
  });

  route('patch', '/namespaces/:namespace/:plural/:name/status', async (req: Req) => {
    const info = resolve(req.params);
    const { namespace, name } = req.params as Required<Params>;
    const current = await store.get({ kind: info.kind, namespace, name });
    if (current === undefined) throw new NotFoundError(info.kind, namespace, name);
    const next = patched(current, req);
    const status = isRecord(next) && isRecord(next.status) ? next.status : {};
    const meta = isRecord(next) && isRecord(next.metadata) ? next.metadata : {};
    const rv = typeof meta.resourceVersion === 'string' ? meta.resourceVersion : current.metadata.resourceVersion;
    return store.updateStatus(
      { kind: info.kind, namespace, name },
      status,
      rv === undefined ? {} : { resourceVersion: rv },
    );
  });
};

// Like fastify-plugin: registered without encapsulation, so its handlers and hooks cover the whole server.
(controlApi as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

/** A fastify server with only the control API on it; `listen` it on 127.0.0.1:8090 (DESIGN §5). */
export function buildControlApi(opts: ControlApiOptions & { fastify?: FastifyServerOptions }): FastifyInstance {
  const app = Fastify({ logger: false, ...opts.fastify });
  app.register(controlApi, opts);
  return app;
}
