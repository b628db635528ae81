import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import type { CeAttributes, CloudEvent } from '../../services/core/cloudevent.ts';

export type { CeAttributes, CloudEvent, Logger };

/** The request event as a handler sees it: attributes at the top, `data` already decoded. */
export interface SdkEvent<T = unknown> {
  readonly specversion: string;
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject: string | undefined;
  readonly time: string | undefined;
  readonly datacontenttype: string | undefined;
  readonly dataschema: string | undefined;
  /** Every attribute, extensions included (e.g. `partitionkey`). */
  readonly attributes: Readonly<CeAttributes>;
  /**
   * The payload: parsed JSON when the content type is JSON (or absent and the bytes parse), a string for
   * `text/*`, else the bytes. Decoded on first access, so a handler that forwards bytes never pays for parsing.
   */
  readonly data: T | undefined;
  /** The payload bytes exactly as received. */
  readonly dataBytes: Buffer | undefined;
  /** The event in the platform's shape, for forwarding unchanged. */
  readonly cloudEvent: CloudEvent;
}

export interface FunctionContext {
  /** Function name (`options.name`, else `ES_FUNCTION_NAME` set by the runtime). */
  readonly name: string;
  /** Namespace of the Function resource (`ES_FUNCTION_NAMESPACE`), `default` when run by hand. */
  readonly namespace: string;
  /** pino logger bound to this event's id and type. */
  readonly logger: Logger;
  /** Aborted when the deadline passes or the caller goes away; pass it to fetch/IO calls. */
  readonly signal: AbortSignal;
  /** Epoch milliseconds by which the reply must be sent. */
  readonly deadline: number;
  /** Request path on the replica (the part after `/{ns}/{name}` on the gateway). */
  readonly path: string;
  /** Raw request headers. */
  readonly headers: IncomingHttpHeaders;
}

/** What `init` receives: everything of the context that exists before any event. */
export interface InitContext {
  readonly name: string;
  readonly namespace: string;
  readonly logger: Logger;
}

/**
 * A handler's answer: a CloudEvent (ours, or a `cloudevents` SDK `CloudEvent`) is the reply as is; any other value
 * becomes the data of a reply event; `undefined` answers 202 with no reply.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: `async () => {}` must be a valid handler (no reply → 202).
export type HandlerResult = CloudEvent | object | string | number | boolean | null | undefined | void;

export type Handler<T = unknown> = (event: SdkEvent<T>, ctx: FunctionContext) => Promise<HandlerResult> | HandlerResult;

export interface FunctionOptions {
  /**
   * Function name used in logs and the default reply source.
   * @defaultValue process.env.ES_FUNCTION_NAME, else 'function'
   */
  name?: string;
  /**
   * Type of reply events built from a plain return value.
   * @defaultValue `${request.type}.response`
   */
  replyType?: string;
  /**
   * Source of reply events built from a plain return value.
   * @defaultValue `/functions/${name}`
   */
  source?: string;
  /**
   * Time a handler gets per event before `ctx.signal` aborts and the caller gets 504.
   * @defaultValue ES_FUNCTION_TIMEOUT_SECONDS × 1000 (set by the runtime from `timeoutSeconds`), else 300000
   */
  timeoutMs?: number;
  /**
   * Runs once before the replica reports ready (load a model, open a pool). A throw stops the replica.
   * @defaultValue undefined
   */
  init?: (ctx: InitContext) => Promise<void> | void;
  /**
   * Serves requests that are not CloudEvents (any method other than POST, or a POST with no `ce-specversion`
   * header and a content type other than `application/cloudevents…`) — e.g. the Open Inference Protocol routes
   * of the model server. Answering `undefined` sends 404. Without it such requests get 405 (not POST) or are
   * read as CloudEvents (and fail validation).
   * @defaultValue undefined
   */
  http?: (request: HttpRequest) => Promise<HttpAnswer | undefined> | HttpAnswer | undefined;
}

/** A plain HTTP request as `FunctionOptions.http` sees it. */
export interface HttpRequest {
  readonly method: string;
  /** Path on the replica including the query string (the part after `/{ns}/{name}` on the gateway). */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer | undefined;
  /** Aborted when the deadline passes or the caller goes away. */
  readonly signal: AbortSignal;
}

/** The answer to an `HttpRequest`; a string body is sent as UTF-8. */
export interface HttpAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

/** What `defineFunction` returns and a handler module default-exports. */
export interface FunctionDefinition<T = unknown> {
  readonly kind: 'elastic-serving.function';
  readonly handler: Handler<T>;
  readonly options: Readonly<FunctionOptions>;
}
