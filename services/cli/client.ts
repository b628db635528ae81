import { CliError } from './errors.ts';
import type { GroupVersion } from './kinds.ts';

/** Object metadata as the Kubernetes REST shape carries it (the fields the CLI reads or writes). */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  uid?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

/** Any resource object: apiVersion/kind/metadata plus whatever spec/status the kind has. */
export interface ResourceObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [field: string]: unknown;
}

/** A Kubernetes `Status` error body; `details.causes[].field` is the path of an invalid field. */
export interface K8sStatus {
  kind: 'Status';
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    kind?: string;
    group?: string;
    causes?: { field?: string; message?: string; reason?: string }[];
  };
}

/** The control API refused a request; carries the HTTP status and the Status body when there was one. */
export class ApiError extends CliError {
  readonly status: number;
  readonly body: K8sStatus | undefined;

  constructor(status: number, message: string, body: K8sStatus | undefined, details: readonly string[]) {
    super(message, { details });
    this.status = status;
    this.body = body;
  }
}

/** Options of a write. */
export interface WriteOptions {
  /** Validate only, store nothing (`?dryRun=All`). @defaultValue false */
  dryRun?: boolean;
}

/** Options of a control API client. */
export interface ControlClientOptions {
  /** Base URL of the control API. @defaultValue 'http://127.0.0.1:8090' */
  server: string;
  /** Bearer token sent on every request. @defaultValue undefined (no Authorization header) */
  token?: string;
  /** Per-request timeout in milliseconds. @defaultValue 30000 */
  timeoutMs?: number;
}

function isStatus(value: unknown): value is K8sStatus {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'Status';
}

/** One-line-per-problem rendering of a Status: the message, then `field: message` for every cause. */
export function statusDetails(status: K8sStatus | undefined): string[] {
  const lines: string[] = [];
  for (const cause of status?.details?.causes ?? []) {
    const field = cause.field ? `${cause.field}: ` : '';
    lines.push(`${field}${cause.message ?? cause.reason ?? 'invalid'}`);
  }
  return lines;
}

function connectionCode(err: unknown): string | undefined {
  const cause = (err as { cause?: { code?: unknown; cause?: { code?: unknown } } }).cause;
  const code = cause?.code ?? cause?.cause?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A client of the control API's Kubernetes REST shape (`/apis/{group}/{version}/namespaces/{ns}/{plural}`). */
export class ControlClient {
  readonly server: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;

  constructor(options: ControlClientOptions) {
    this.server = options.server.replace(/\/+$/, '');
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** Path of a collection (namespace undefined = across all namespaces) or of one object. */
  static path(gv: GroupVersion, plural: string, namespace: string | undefined, name?: string): string {
    const ns = namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
    const tail = name === undefined ? '' : `/${encodeURIComponent(name)}`;
    // The core group (Secret) is served under /api/{version}, as in Kubernetes.
    const base = gv.group === '' ? `/api/${gv.version}` : `/apis/${gv.group}/${gv.version}`;
    return `${base}${ns}/${plural}${tail}`;
  }

  /** GET one object; `undefined` when it does not exist. */
  async get(gv: GroupVersion, plural: string, namespace: string, name: string): Promise<ResourceObject | undefined> {
    const res = await this.send('GET', ControlClient.path(gv, plural, namespace, name), undefined, [404]);
    return res.status === 404 ? undefined : (res.body as ResourceObject);
  }

  /** List a collection; `undefined` when the server does not serve that group/plural at all (404). */
  async list(gv: GroupVersion, plural: string, namespace: string | undefined): Promise<ResourceObject[] | undefined> {
    const res = await this.send('GET', ControlClient.path(gv, plural, namespace), undefined, [404]);
    if (res.status === 404) return undefined;
    const items = (res.body as { items?: unknown }).items;
    if (!Array.isArray(items)) throw new CliError(`the control API answered a list without items (${plural})`);
    const list = res.body as { apiVersion?: string; kind?: string };
    // Kubernetes omits apiVersion/kind on list items; put them back so output and `apply` of it are complete.
    const apiVersion = `${gv.group}/${gv.version}`;
    const kind = list.kind?.endsWith('List') ? list.kind.slice(0, -4) : undefined;
    return (items as ResourceObject[]).map((item) => ({
      ...item,
      apiVersion: item.apiVersion ?? apiVersion,
      kind: item.kind ?? kind ?? '',
    }));
  }

  /** POST. `dryRun` asks the server to validate and answer without storing (Kubernetes `?dryRun=All`). */
  async create(
    gv: GroupVersion,
    plural: string,
    namespace: string,
    object: ResourceObject,
    options: WriteOptions = {},
  ): Promise<ResourceObject> {
    const path = ControlClient.path(gv, plural, namespace) + (options.dryRun ? '?dryRun=All' : '');
    return (await this.send('POST', path, object)).body as ResourceObject;
  }

  /** PUT; the object's `metadata.resourceVersion` makes it a compare-and-swap (409 when stale). */
  async replace(
    gv: GroupVersion,
    plural: string,
    namespace: string,
    object: ResourceObject,
    options: WriteOptions = {},
  ): Promise<ResourceObject> {
    const path =
      ControlClient.path(gv, plural, namespace, object.metadata.name) + (options.dryRun ? '?dryRun=All' : '');
    return (await this.send('PUT', path, object)).body as ResourceObject;
  }

  /**
   * DELETE; `undefined` when there was nothing to delete, else the apiVersion of what was deleted (from the
   * answer when it is the object, as the embedded API stores a kind once whichever group it was written in).
   */
  async delete(gv: GroupVersion, plural: string, namespace: string, name: string): Promise<string | undefined> {
    const res = await this.send('DELETE', ControlClient.path(gv, plural, namespace, name), undefined, [404]);
    if (res.status === 404) return undefined;
    const apiVersion = (res.body as { apiVersion?: unknown; kind?: unknown } | undefined)?.apiVersion;
    const isObject =
      typeof res.body === 'object' && res.body !== null && (res.body as { kind?: unknown }).kind !== 'Status';
    return isObject && typeof apiVersion === 'string' ? apiVersion : `${gv.group}/${gv.version}`;
  }

  /**
   * One request. Statuses in `allow` are returned to the caller; any other non-2xx throws an `ApiError` whose
   * message comes from the Status body and whose details list every invalid field.
   */
  async send(
    method: string,
    path: string,
    body?: unknown,
    allow: readonly number[] = [],
  ): Promise<{ status: number; body: unknown }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await fetch(this.server + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      if ((err as { name?: string }).name === 'TimeoutError') {
        throw new CliError(
          `the control API at ${this.server} did not answer ${method} ${path} within ${this.timeoutMs} ms`,
        );
      }
      const code = connectionCode(err);
      throw new CliError(
        `cannot reach the control API at ${this.server}${code ? ` (${code})` : ''} — is \`elastic-serving up\` running?`,
        { cause: err },
      );
    }
    const text = await res.text();
    let parsed: unknown = text;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        // Not JSON (a proxy page, a bare error): keep the text for the message.
      }
    }
    if (res.ok || allow.includes(res.status)) return { status: res.status, body: parsed };
    throw this.toError(res.status, parsed, method, path);
  }

  private toError(status: number, body: unknown, method: string, path: string): ApiError {
    const st = isStatus(body) ? body : undefined;
    if (status === 401) {
      return new ApiError(
        status,
        `unauthorized (401): the control API at ${this.server} needs a bearer token — pass --token or set ES_TOKEN`,
        st,
        [],
      );
    }
    let message: string;
    if (st?.message) message = st.message;
    else if (typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'string') {
      message = (body as { error: string }).error;
    } else if (typeof body === 'string' && body !== '') message = body.length > 300 ? `${body.slice(0, 300)}…` : body;
    else message = `${method} ${path} failed`;
    const reason = st?.reason ? `${st.reason}, ` : '';
    // The server's message often already names the first invalid field; list only what it does not say.
    const details = statusDetails(st).filter((d) => !message.includes(d));
    return new ApiError(status, `${message} (${reason}${status})`, st, details);
  }
}
