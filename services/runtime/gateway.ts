/**
 * The function gateway: `http://127.0.0.1:8081/{ns}/{name}/...` → one ready replica (DESIGN §5 "Addresses").
 *
 * It sits on the hot path of every delivery, so it is a raw node:http proxy with one undici Pool per replica and
 * no framework: a request is parsed once, balanced (balancer.ts) and forwarded with its method, path remainder,
 * headers and body. The same balancing is offered in-process (`dispatch`, `pickReplica`) so the router, which runs
 * in the same process in the embedded platform, can skip the extra HTTP hop while still sharing the
 * containerConcurrency accounting with callers that come over HTTP.
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { ElasticServingError, toErrorBody } from '../core/errors.ts';
import { type Backend, ReplicaBalancer } from './balancer.ts';
import { functionKey, type RuntimeActuator } from './types.ts';

export interface GatewayFunction {
  /** Requests one replica serves at once; 0 = unlimited. */
  containerConcurrency: number;
  /** Deadline of a request, queueing included; past it the caller gets 504. */
  timeoutSeconds: number;
}

export interface GatewayOptions {
  runtime: Pick<RuntimeActuator, 'replicas' | 'onChange'>;
  /** The serving settings of a function, or undefined when it does not exist (404). */
  lookup: (namespace: string, name: string) => GatewayFunction | undefined;
  /** @defaultValue 8081 */
  port?: number;
  /** @defaultValue '127.0.0.1' */
  host?: string;
  /** Requests waiting for a replica slot, per function, before 503. @defaultValue 10000 */
  maxQueue?: number;
  /** Largest request body forwarded; larger answers 413. @defaultValue 33554432 */
  maxBodyBytes?: number;
}

export interface DispatchRequest {
  method?: string;
  /** Path on the replica, query included. @defaultValue '/' */
  path?: string;
  headers?: IncomingHttpHeaders | Record<string, string>;
  body?: Buffer;
  signal?: AbortSignal;
}

export interface DispatchResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface PickedReplica {
  id: string;
  /** `http://127.0.0.1:<port>` of the replica. */
  origin: string;
  /** Must be called exactly once when the request to the replica has ended. */
  release(): void;
}

export interface Gateway {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** A replica slot of `ns/name`, honouring containerConcurrency, the queue bound and the deadline. */
  pickReplica(namespace: string, name: string, signal?: AbortSignal): Promise<PickedReplica>;
  /** Forwards one request in-process; gateway errors come back as the same status and body HTTP would give. */
  dispatch(namespace: string, name: string, req: DispatchRequest): Promise<DispatchResponse>;
  /** Per-function balancer state (tests, metrics). */
  balancer(namespace: string, name: string): ReplicaBalancer | undefined;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'host',
  'content-length',
]);
const RETRIES_ON_REFUSED = 2;

function forwardHeaders(headers: IncomingHttpHeaders | Record<string, string>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key in headers) {
    const value = headers[key];
    if (value !== undefined && !HOP_BY_HOP.has(key)) out[key] = value;
  }
  return out;
}

function errorResponse(err: unknown): DispatchResponse {
  const { status, body, retryAfterSeconds } = toErrorBody(err);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (retryAfterSeconds !== undefined && status === 503) headers['retry-after'] = String(retryAfterSeconds);
  return { statusCode: status, headers, body: Buffer.from(JSON.stringify(body)) };
}

function isRefused(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'UND_ERR_SOCKET';
}

export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const maxQueue = options.maxQueue ?? 10_000;
  const maxBody = options.maxBodyBytes ?? 32 * 1024 * 1024;
  const balancers = new Map<string, ReplicaBalancer>();
  const pools = new Map<number, Pool>();

  const poolFor = (port: number): Pool => {
    let pool = pools.get(port);
    if (!pool) {
      // Below the replica server's 65 s idle timeout, so the gateway always closes idle sockets first.
      pool = new Pool(`http://127.0.0.1:${port}`, { connections: 512, keepAliveTimeout: 30_000, pipelining: 1 });
      pools.set(port, pool);
    }
    return pool;
  };

  const sync = (fn: string, balancer: ReplicaBalancer): void => {
    const ready: { id: string; port: number }[] = [];
    for (const r of options.runtime.replicas(fn))
      if (r.ready && r.port !== undefined) ready.push({ id: r.id, port: r.port });
    balancer.setReady(ready);
  };

  const unsubscribe = options.runtime.onChange((fn) => {
    const balancer = balancers.get(fn);
    if (balancer) sync(fn, balancer);
    // Pools of replicas that are gone: close once their in-flight requests finish.
    const live = new Set<number>();
    for (const b of balancers.values()) for (const be of b.backends) live.add(be.port);
    for (const [port, pool] of pools) {
      if (!live.has(port)) {
        pools.delete(port);
        void pool.close().catch(() => {});
      }
    }
  });

  const balancerFor = (
    namespace: string,
    name: string,
  ): { balancer: ReplicaBalancer; fn: GatewayFunction } | undefined => {
    const fn = options.lookup(namespace, name);
    if (!fn) return undefined;
    const key = functionKey(namespace, name);
    let balancer = balancers.get(key);
    if (!balancer) {
      balancer = new ReplicaBalancer(fn.containerConcurrency, maxQueue);
      balancers.set(key, balancer);
      sync(key, balancer);
    }
    balancer.containerConcurrency = fn.containerConcurrency;
    return { balancer, fn };
  };

  const notFound = (namespace: string, name: string) =>
    new ElasticServingError('ES_ERR_NOT_FOUND', `no function ${namespace}/${name}`);

  const pickReplica = async (namespace: string, name: string, signal?: AbortSignal): Promise<PickedReplica> => {
    const found = balancerFor(namespace, name);
    if (!found) throw notFound(namespace, name);
    const backend = await found.balancer.acquire(Date.now() + found.fn.timeoutSeconds * 1000, signal);
    let released = false;
    return {
      id: backend.id,
      origin: `http://127.0.0.1:${backend.port}`,
      release: () => {
        if (!released) {
          released = true;
          found.balancer.release(backend);
        }
      },
    };
  };

  /** Sends to one replica; on a refused connection (replica just went away) tries another, within the deadline. */
  const forward = async (
    namespace: string,
    name: string,
    req: DispatchRequest,
    onResponse: (
      status: number,
      headers: Record<string, string | string[] | undefined>,
      body: NodeJS.ReadableStream & AsyncIterable<Buffer>,
      done: () => void,
    ) => Promise<void>,
  ): Promise<void> => {
    const found = balancerFor(namespace, name);
    if (!found) throw notFound(namespace, name);
    const deadline = Date.now() + found.fn.timeoutSeconds * 1000;
    const headers = forwardHeaders(req.headers ?? {});
    const tried = new Set<string>();
    for (let attempt = 0; ; attempt++) {
      const backend: Backend = await found.balancer.acquire(deadline, req.signal, tried.size > 0 ? tried : undefined);
      let handedOver = false;
      try {
        const remaining = Math.max(1, deadline - Date.now());
        const res = await poolFor(backend.port).request({
          method: (req.method ?? 'POST') as 'POST',
          path: req.path ?? '/',
          headers,
          body: req.body ?? null,
          headersTimeout: remaining,
          bodyTimeout: remaining,
          ...(req.signal ? { signal: req.signal } : {}),
        });
        handedOver = true;
        await onResponse(res.statusCode, res.headers, res.body, () => found.balancer.release(backend));
        return;
      } catch (err) {
        if (!handedOver) found.balancer.release(backend);
        const code = (err as { code?: string }).code;
        if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
          throw new ElasticServingError(
            'ES_ERR_TIMEOUT',
            `function did not answer within ${found.fn.timeoutSeconds}s`,
            { cause: err },
          );
        }
        if (!handedOver && isRefused(err) && attempt < RETRIES_ON_REFUSED && Date.now() < deadline) {
          tried.add(backend.id);
          continue;
        }
        if (err instanceof ElasticServingError) throw err;
        throw new ElasticServingError(
          'ES_ERR_BACKEND_UNAVAILABLE',
          `replica ${backend.id} failed: ${(err as Error).message}`,
          { cause: err },
        );
      }
    }
  };

  const dispatch = async (namespace: string, name: string, req: DispatchRequest): Promise<DispatchResponse> => {
    let out: DispatchResponse | undefined;
    try {
      await forward(namespace, name, req, async (statusCode, headers, body, done) => {
        try {
          const chunks: Buffer[] = [];
          for await (const chunk of body) chunks.push(chunk);
          out = { statusCode, headers, body: Buffer.concat(chunks) };
        } finally {
          done();
        }
      });
    } catch (err) {
      return errorResponse(err);
    }
    return out!;
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    // /{ns}/{name}[/rest][?query]
    const second = url.indexOf('/', 1);
    const third = second === -1 ? -1 : url.indexOf('/', second + 1);
    const query = url.indexOf('?');
    const nameEnd = [third, query].filter((i) => i > second).reduce((a, b) => Math.min(a, b), url.length);
    if (second <= 1 || nameEnd <= second + 1) {
      sendError(res, new ElasticServingError('ES_ERR_NOT_FOUND', 'use /{namespace}/{function}/…'));
      req.resume();
      return;
    }
    const namespace = decodeURIComponent(url.slice(1, second));
    const name = decodeURIComponent(url.slice(second + 1, nameEnd));
    let path = url.slice(nameEnd);
    if (path === '' || path.startsWith('?')) path = `/${path}`;
    if (!options.lookup(namespace, name)) {
      sendError(res, notFound(namespace, name));
      req.resume();
      return;
    }
    if (Number(req.headers['content-length']) > maxBody) {
      sendError(
        res,
        new ElasticServingError('ES_ERR_BODY_TOO_LARGE', `request body larger than ${maxBody} bytes`),
        true,
      );
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let rejected = false;
    req.on('data', (c: Buffer) => {
      if (rejected) return;
      size += c.length;
      if (size > maxBody) {
        rejected = true;
        sendError(
          res,
          new ElasticServingError('ES_ERR_BODY_TOO_LARGE', `request body larger than ${maxBody} bytes`),
          true,
        );
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (rejected) return;
      const aborter = new AbortController();
      res.once('close', () => {
        if (!res.writableFinished) aborter.abort();
      });
      const body = size === 0 ? undefined : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
      forward(
        namespace,
        name,
        { method: req.method ?? 'GET', path, headers: req.headers, ...(body ? { body } : {}), signal: aborter.signal },
        async (status, headers, upstream, done) => {
          const out: Record<string, string | string[]> = {};
          for (const k in headers) {
            const v = headers[k];
            if (v !== undefined && k !== 'connection' && k !== 'keep-alive' && k !== 'transfer-encoding') out[k] = v;
          }
          try {
            res.writeHead(status, out);
            for await (const chunk of upstream) res.write(chunk);
            res.end();
          } finally {
            done();
          }
        },
      ).catch((err: unknown) => {
        if (!res.headersSent) sendError(res, err);
        else res.destroy();
      });
    });
  };

  const server = createServer(handle);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8081, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host ?? '127.0.0.1';

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    server,
    pickReplica,
    dispatch,
    balancer: (namespace, name) => balancers.get(functionKey(namespace, name)),
    close: async () => {
      unsubscribe();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 1000).unref();
      });
      await Promise.all([...pools.values()].map((p) => p.close().catch(() => {})));
      pools.clear();
    },
  };
}

function sendError(res: ServerResponse, err: unknown, closeConnection = false): void {
  if (res.headersSent) return;
  const r = errorResponse(err);
  if (closeConnection) r.headers.connection = 'close';
  res.writeHead(r.statusCode, r.headers);
  res.end(r.body);
}
