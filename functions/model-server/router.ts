/**
 * The Open Inference Protocol v2 REST routes (+ the model repository extension and KServe v1) as a pure function
 * of one request: no sockets, so the SDK's `http` option calls it and tests call it directly.
 *
 * Errors answer KServe's way: `{"error": "<message>"}` with 400 (bad input), 404 (unknown model or route),
 * 503 (model or server not ready, with Retry-After), 500 otherwise.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ElasticServingError } from '../../services/core/errors.ts';
import { InvalidInputError, ModelNotFoundError } from './errors.ts';
import { inferV2, predictV1, servable } from './inference.ts';
import type { ModelRepository } from './repository.ts';
import { MODEL_VERSION } from './served-model.ts';

export interface RouterRequest {
  readonly method: string;
  /** Path on the replica, query string allowed. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer | undefined;
}

export interface RouterAnswer {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

export type Router = (req: RouterRequest) => Promise<RouterAnswer>;

/** What the routes need from the server around them. */
export interface RouterBackend {
  readonly repository: ModelRepository;
  /** `GET /v2` name. */
  readonly serverName: string;
  /** `GET /v2` version. */
  readonly serverVersion: string;
  /** Whether the initial models have loaded (`/v2/health/ready`). */
  isReady(): boolean;
  /** The repository extension's load: `body` is the parsed request body, if any. */
  loadModel(name: string, body: unknown): Promise<void>;
  unloadModel(name: string): Promise<void>;
}

const JSON_TYPE = { 'content-type': 'application/json' };
const json = (status: number, body: string): RouterAnswer => ({ status, headers: { ...JSON_TYPE }, body });
const errorBody = (message: string) => JSON.stringify({ error: message });

function errorAnswer(err: unknown): RouterAnswer {
  if (err instanceof ElasticServingError) {
    const answer = json(err.statusCode, errorBody(err.message));
    if (err.retryAfterSeconds !== undefined && err.statusCode === 503) {
      answer.headers['retry-after'] = String(err.retryAfterSeconds);
    }
    return answer;
  }
  return json(500, errorBody(err instanceof Error ? err.message : String(err)));
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function parseJson(body: Buffer | undefined, required: boolean): unknown {
  if (!body || body.length === 0) {
    if (required) throw new InvalidInputError('Unrecognized request format: the request has no body');
    return undefined;
  }
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new InvalidInputError(`Unrecognized request format: ${(err as Error).message}`);
  }
}

function decodeName(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new InvalidInputError(`invalid model name in path: ${segment}`);
  }
}

async function infer(backend: RouterBackend, name: string, req: RouterRequest): Promise<RouterAnswer> {
  const headerLength = header(req.headers, 'inference-header-content-length');
  let body: unknown;
  let binary: Buffer | undefined;
  if (headerLength !== undefined) {
    const n = Number(headerLength);
    const size = req.body?.length ?? 0;
    if (!Number.isInteger(n) || n < 0 || n > size) {
      throw new InvalidInputError(
        `Inference-Header-Content-Length ${headerLength} does not fit a body of ${size} bytes`,
      );
    }
    body = parseJson(req.body!.subarray(0, n), true);
    binary = req.body!.subarray(n);
  } else {
    body = parseJson(req.body, true);
  }
  const answer = await inferV2(backend.repository, name, body, binary);
  if (!answer.binary) return json(200, answer.json);
  const head = Buffer.from(answer.json, 'utf8');
  return {
    status: 200,
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(head.length) },
    body: Buffer.concat([head, ...answer.binary]),
  };
}

function checkVersion(name: string, version: string | undefined): void {
  if (version !== undefined && version !== MODEL_VERSION) {
    throw new ModelNotFoundError(name, `It has no version ${version} (only ${MODEL_VERSION}).`);
  }
}

function methodNotAllowed(allow: string): RouterAnswer {
  const answer = json(405, errorBody('Method Not Allowed'));
  answer.headers.allow = allow;
  return answer;
}

/** `/v2/models/{m}[/versions/{v}][/ready|/infer]` */
async function modelRoute(
  backend: RouterBackend,
  req: RouterRequest,
  parts: string[],
): Promise<RouterAnswer | undefined> {
  const name = decodeName(parts[3]!);
  let rest = parts.slice(4);
  let version: string | undefined;
  if (rest[0] === 'versions' && rest.length >= 2) {
    version = decodeName(rest[1]!);
    rest = rest.slice(2);
  }
  const action = rest.length === 0 ? '' : rest.length === 1 ? rest[0] : undefined;
  if (action === 'infer') {
    if (req.method !== 'POST') return methodNotAllowed('POST');
    checkVersion(name, version);
    return infer(backend, name, req);
  }
  if (action === '' || action === 'ready') {
    if (req.method !== 'GET') return methodNotAllowed('GET');
    checkVersion(name, version);
    const served = servable(backend.repository, name);
    return json(200, action === '' ? served.metadataJson : JSON.stringify({ name, ready: true }));
  }
  return undefined;
}

async function repositoryRoute(
  backend: RouterBackend,
  req: RouterRequest,
  parts: string[],
): Promise<RouterAnswer | undefined> {
  if (req.method !== 'POST') return methodNotAllowed('POST');
  if (parts.length === 4 && parts[3] === 'index') {
    const body = parseJson(req.body, false) as { ready?: unknown } | undefined;
    const onlyReady = typeof body === 'object' && body !== null && body.ready === true;
    const rows = backend.repository.index().filter((r) => !onlyReady || r.state === 'READY');
    return json(200, JSON.stringify(rows));
  }
  if (parts.length === 6 && parts[3] === 'models' && (parts[5] === 'load' || parts[5] === 'unload')) {
    const name = decodeName(parts[4]!);
    if (parts[5] === 'load') {
      await backend.loadModel(name, parseJson(req.body, false));
      return json(200, JSON.stringify({ name, load: true }));
    }
    await backend.unloadModel(name);
    return json(200, JSON.stringify({ name, unload: true }));
  }
  return undefined;
}

async function v2Route(backend: RouterBackend, req: RouterRequest, parts: string[]): Promise<RouterAnswer | undefined> {
  const section = parts[2];
  if (section === undefined) {
    if (req.method !== 'GET') return methodNotAllowed('GET');
    return json(
      200,
      JSON.stringify({
        name: backend.serverName,
        version: backend.serverVersion,
        extensions: ['model_repository_extension', 'binary_tensor_data'],
      }),
    );
  }
  if (section === 'models') {
    if (parts.length === 3) {
      if (req.method !== 'GET') return methodNotAllowed('GET');
      return json(200, JSON.stringify({ models: backend.repository.names().sort() }));
    }
    return modelRoute(backend, req, parts);
  }
  if (section === 'health' && parts.length === 4 && (parts[3] === 'live' || parts[3] === 'ready')) {
    if (req.method !== 'GET') return methodNotAllowed('GET');
    if (parts[3] === 'live') return json(200, '{"live":true}');
    if (backend.isReady()) return json(200, '{"ready":true}');
    const answer = json(503, errorBody('Server is not ready: the initial models are still loading.'));
    answer.headers['retry-after'] = '1';
    return answer;
  }
  if (section === 'repository') return repositoryRoute(backend, req, parts);
  return undefined;
}

async function v1Route(backend: RouterBackend, req: RouterRequest, parts: string[]): Promise<RouterAnswer | undefined> {
  if (parts[2] !== 'models') return undefined;
  if (parts.length === 3) {
    if (req.method !== 'GET') return methodNotAllowed('GET');
    return json(200, JSON.stringify({ models: backend.repository.names().sort() }));
  }
  if (parts.length !== 4) return undefined;
  const segment = parts[3]!;
  const colon = segment.lastIndexOf(':');
  if (colon !== -1 && segment.slice(colon) === ':predict') {
    if (req.method !== 'POST') return methodNotAllowed('POST');
    const name = decodeName(segment.slice(0, colon));
    return json(200, await predictV1(backend.repository, name, parseJson(req.body, true)));
  }
  if (colon !== -1) return undefined;
  if (req.method !== 'GET') return methodNotAllowed('GET');
  const name = decodeName(segment);
  servable(backend.repository, name);
  return json(200, JSON.stringify({ name, ready: true }));
}

/** Builds the router over a backend. Unknown paths answer 404 `{"error": …}`. */
export function createRouter(backend: RouterBackend): Router {
  return async (req) => {
    const q = req.path.indexOf('?');
    const path = q === -1 ? req.path : req.path.slice(0, q);
    const parts = path.split('/');
    if (parts.length > 2 && parts[parts.length - 1] === '') parts.pop(); // a trailing slash names the same route
    try {
      let answer: RouterAnswer | undefined;
      if (parts[1] === 'v2') answer = await v2Route(backend, req, parts);
      else if (parts[1] === 'v1') answer = await v1Route(backend, req, parts);
      else if (path === '/' && req.method === 'GET') answer = json(200, '{"status":"alive"}');
      return answer ?? json(404, errorBody(`Not Found: ${req.method} ${path}`));
    } catch (err) {
      return errorAnswer(err);
    }
  };
}
