import { Agent, type Dispatcher, request } from 'undici';
import { BackendUnavailableError, ElasticServingError, InvalidResourceError } from '../core/errors.ts';
import { AlreadyExistsError, ConflictError, NotFoundError, ResourceExpiredError } from './errors.ts';
import type { ResourceKey } from './resources/types.ts';

/** How to reach a control API speaking the Kubernetes REST shape. */
export interface ControlApiConnection {
  /** Base URL of the control API, e.g. `http://127.0.0.1:8090`. */
  server: string;
  /** Sent as `Authorization: Bearer <token>` on every request. @defaultValue undefined (no header) */
  token?: string;
  /** Deadline of one request (a watch: until its headers arrive). @defaultValue 30000 */
  timeoutMs?: number;
}

interface StatusBody {
  kind?: unknown;
  message?: unknown;
  reason?: unknown;
  code?: unknown;
  details?: { causes?: { field?: unknown; message?: unknown }[] };
}

/** A request the control API answered with a failure: status code and its `Status` message. */
export class ControlApiHttpError extends ElasticServingError {
  constructor(
    readonly status: number,
    readonly reason: string | undefined,
    message: string,
  ) {
    super(status >= 500 ? 'ES_ERR_BACKEND_UNAVAILABLE' : 'ES_ERR_BAD_REQUEST', message);
  }
}

function asStatus(body: unknown): StatusBody | undefined {
  return typeof body === 'object' && body !== null && (body as StatusBody).kind === 'Status'
    ? (body as StatusBody)
    : undefined;
}

/**
 * Turns a failed answer back into the error the local stores throw, so a reconciler handles a remote 409 exactly
 * like a local ConflictError. `key` names the object the request was about (for the error's fields).
 */
export function errorFromAnswer(status: number, body: unknown, key?: Required<ResourceKey>): Error {
  const st = asStatus(body);
  const message = typeof st?.message === 'string' ? st.message : `control API answered ${status}`;
  const reason = typeof st?.reason === 'string' ? st.reason : undefined;
  const prefix = key ? `${key.kind} ${key.namespace}/${key.name}: ` : '';
  if (status === 404 && key) return new NotFoundError(key.kind, key.namespace, key.name);
  if (status === 409 && key && reason === 'AlreadyExists') {
    return new AlreadyExistsError(key.kind, key.namespace, key.name);
  }
  if (status === 409 && key) {
    const detail = prefix !== '' && message.startsWith(prefix) ? message.slice(prefix.length) : message;
    return new ConflictError(key.kind, key.namespace, key.name, detail);
  }
  if (status === 410) return new ResourceExpiredError(message);
  if (status === 422) {
    const issues = (st?.details?.causes ?? []).map((c) => ({
      path: typeof c.field === 'string' ? c.field : '',
      message: typeof c.message === 'string' ? c.message : 'invalid',
    }));
    return new InvalidResourceError(message, issues);
  }
  if (status === 401) return new ElasticServingError('ES_ERR_UNAUTHORIZED', `control API: ${message}`);
  if (status === 403) return new ElasticServingError('ES_ERR_FORBIDDEN', `control API: ${message}`);
  if (status >= 500) return new BackendUnavailableError(`control API answered ${status}: ${message}`);
  return new ControlApiHttpError(status, reason, message);
}

export interface Answer {
  status: number;
  body: unknown;
}

/** Small HTTP client of the control API: JSON in and out, bearer token, timeouts, one keep-alive pool. */
export class ControlApiHttp {
  readonly server: string;
  private readonly token: string | undefined;
  readonly timeoutMs: number;
  private readonly agent = new Agent({ keepAliveTimeout: 30_000 });

  constructor(options: ControlApiConnection) {
    this.server = options.server.replace(/\/+$/, '');
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  headers(contentType?: string): Record<string, string> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (contentType !== undefined) headers['content-type'] = contentType;
    if (this.token !== undefined && this.token !== '') headers.authorization = `Bearer ${this.token}`;
    return headers;
  }

  /** One JSON request; network failures become BackendUnavailableError (the caller decides whether to retry). */
  async send(method: Dispatcher.HttpMethod, path: string, body?: unknown, contentType?: string): Promise<Answer> {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(this.server + path, {
        method,
        headers: this.headers(body === undefined ? undefined : (contentType ?? 'application/json')),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        dispatcher: this.agent,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw this.unreachable(method, path, err);
    }
    const text = await res.body.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // Not JSON (a proxy's error page): keep the text for the message.
    }
    return { status: res.statusCode, body: parsed };
  }

  /** Opens a streaming GET (a watch): no body timeout, ended by `signal`. */
  async stream(path: string, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
    try {
      return await request(this.server + path, {
        method: 'GET',
        headers: this.headers(),
        dispatcher: this.agent,
        headersTimeout: this.timeoutMs,
        bodyTimeout: 0,
        signal,
      });
    } catch (err) {
      throw this.unreachable('GET', path, err);
    }
  }

  unreachable(method: string, path: string, err: unknown): BackendUnavailableError {
    const code = (err as { code?: unknown }).code;
    const why = typeof code === 'string' ? code : (err as Error).message;
    return new BackendUnavailableError(`control API at ${this.server} unreachable (${method} ${path}): ${why}`, {
      cause: err,
    });
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
