import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';

/**
 * A small, real HTTP server in the Kubernetes REST shape, for CLI tests: namespaced CRUD with resourceVersion
 * compare-and-swap, cross-namespace lists, Status errors, bearer auth. Not the controller; just enough of the
 * protocol to prove the CLI speaks it.
 */
export interface FixtureOptions {
  /** `group/version/plural` triples served; others answer 404. */
  served: readonly string[];
  /** When set, every request needs `Authorization: Bearer <token>`. */
  token?: string;
  /** Returns invalid fields (`{field, message}`) to refuse a write with 422, like schema validation. */
  validate?: (object: StoredObject) => { field: string; message: string }[];
  /**
   * Runs before each real (not dry-run) write; tests use it to play a concurrent writer, or return a refusal to
   * fail that write.
   */
  beforeWrite?: (method: string, key: string, store: Map<string, StoredObject>) => Refusal | undefined;
}

export interface Refusal {
  code: number;
  reason: string;
  message: string;
}

export interface StoredObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    resourceVersion: string;
    creationTimestamp: string;
    [k: string]: unknown;
  };
  [field: string]: unknown;
}

export interface Fixture {
  url: string;
  store: Map<string, StoredObject>;
  /** Every request as `METHOD path`. */
  requests: string[];
  close(): Promise<void>;
}

function status(
  reply: FastifyReply,
  code: number,
  reason: string,
  message: string,
  causes?: { field: string; message: string }[],
) {
  return reply.code(code).send({
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    message,
    reason,
    code,
    ...(causes ? { details: { causes } } : {}),
  });
}

export async function startFixture(options: FixtureOptions): Promise<Fixture> {
  const app: FastifyInstance = Fastify();
  const store = new Map<string, StoredObject>();
  const requests: string[] = [];
  let version = 0;
  const served = new Set(options.served);

  app.addHook('onRequest', async (req, reply) => {
    requests.push(`${req.method} ${req.url}`);
    if (options.token && req.headers.authorization !== `Bearer ${options.token}`) {
      return status(reply, 401, 'Unauthorized', 'Unauthorized');
    }
  });

  interface P {
    group: string;
    version: string;
    ns?: string;
    plural: string;
    name?: string;
  }
  const check = (p: P, reply: FastifyReply): boolean => {
    if (served.has(`${p.group}/${p.version}/${p.plural}`)) return true;
    void status(reply, 404, 'NotFound', 'the server could not find the requested resource');
    return false;
  };
  const key = (p: P, ns: string, name: string) => `${p.group}/${p.version}/${p.plural}/${ns}/${name}`;
  const list = (p: P, ns: string | undefined) => {
    const prefix = `${p.group}/${p.version}/${p.plural}/${ns === undefined ? '' : `${ns}/`}`;
    const items = [...store.entries()].filter(([k]) => k.startsWith(prefix)).map(([, v]) => v);
    return {
      apiVersion: `${p.group}/${p.version}`,
      kind: 'List',
      metadata: { resourceVersion: String(version) },
      items,
    };
  };

  app.get<{ Params: P }>('/apis/:group/:version/:plural', async (req, reply) => {
    if (check(req.params, reply)) return list(req.params, undefined);
  });
  app.get<{ Params: P }>('/apis/:group/:version/namespaces/:ns/:plural', async (req, reply) => {
    if (check(req.params, reply)) return list(req.params, req.params.ns);
  });
  app.post<{ Params: P; Body: StoredObject }>('/apis/:group/:version/namespaces/:ns/:plural', async (req, reply) => {
    if (!check(req.params, reply)) return;
    const body = req.body;
    const k = key(req.params, req.params.ns!, body.metadata.name);
    const dryRun = (req.query as { dryRun?: string }).dryRun !== undefined;
    const refusal = dryRun ? undefined : options.beforeWrite?.('POST', k, store);
    if (refusal) return status(reply, refusal.code, refusal.reason, refusal.message);
    const causes = options.validate?.(body) ?? [];
    if (causes.length > 0)
      return status(reply, 422, 'Invalid', `${body.kind} "${body.metadata.name}" is invalid`, causes);
    if (store.has(k))
      return status(reply, 409, 'AlreadyExists', `${req.params.plural} "${body.metadata.name}" already exists`);
    if (dryRun) return reply.code(201).send(body);
    const obj: StoredObject = {
      ...body,
      metadata: {
        ...body.metadata,
        namespace: req.params.ns!,
        resourceVersion: String(++version),
        creationTimestamp: new Date().toISOString(),
      },
    };
    store.set(k, obj);
    return reply.code(201).send(obj);
  });
  app.get<{ Params: P }>('/apis/:group/:version/namespaces/:ns/:plural/:name', async (req, reply) => {
    if (!check(req.params, reply)) return;
    const obj = store.get(key(req.params, req.params.ns!, req.params.name!));
    return obj ?? status(reply, 404, 'NotFound', `${req.params.plural} "${req.params.name}" not found`);
  });
  app.put<{ Params: P; Body: StoredObject }>(
    '/apis/:group/:version/namespaces/:ns/:plural/:name',
    async (req, reply) => {
      if (!check(req.params, reply)) return;
      const k = key(req.params, req.params.ns!, req.params.name!);
      const dryRun = (req.query as { dryRun?: string }).dryRun !== undefined;
      const refusal = dryRun ? undefined : options.beforeWrite?.('PUT', k, store);
      if (refusal) return status(reply, refusal.code, refusal.reason, refusal.message);
      const current = store.get(k);
      if (!current) return status(reply, 404, 'NotFound', `${req.params.plural} "${req.params.name}" not found`);
      const causes = options.validate?.(req.body) ?? [];
      if (causes.length > 0)
        return status(reply, 422, 'Invalid', `${req.body.kind} "${req.params.name}" is invalid`, causes);
      if (req.body.metadata.resourceVersion !== current.metadata.resourceVersion) {
        return status(
          reply,
          409,
          'Conflict',
          'the object has been modified; please apply your changes to the latest version',
        );
      }
      if (dryRun) return req.body;
      const obj: StoredObject = {
        ...req.body,
        status: current.status,
        metadata: {
          ...req.body.metadata,
          namespace: req.params.ns!,
          resourceVersion: String(++version),
          creationTimestamp: current.metadata.creationTimestamp,
        },
      };
      store.set(k, obj);
      return obj;
    },
  );
  app.delete<{ Params: P }>('/apis/:group/:version/namespaces/:ns/:plural/:name', async (req, reply) => {
    if (!check(req.params, reply)) return;
    const k = key(req.params, req.params.ns!, req.params.name!);
    const obj = store.get(k);
    if (!obj) return status(reply, 404, 'NotFound', `${req.params.plural} "${req.params.name}" not found`);
    store.delete(k);
    return obj;
  });

  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, store, requests, close: () => app.close() };
}
