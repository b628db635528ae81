/**
 * One registry of error codes with their HTTP status, shared by every service (fastify-style).
 * Every rejection a client sees is `{"error": "<message>", "code": "ES_ERR_..."}`.
 */
export const ERROR_CODES = {
  ES_ERR_INVALID_EVENT: 400,
  ES_ERR_INVALID_ENCODING: 400,
  ES_ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  ES_ERR_BODY_TOO_LARGE: 413,
  ES_ERR_HEADERS_TOO_LARGE: 431,
  ES_ERR_BAD_REQUEST: 400,
  ES_ERR_UNAUTHORIZED: 401,
  ES_ERR_FORBIDDEN: 403,
  ES_ERR_NOT_FOUND: 404,
  ES_ERR_BROKER_NOT_FOUND: 404,
  ES_ERR_METHOD_NOT_ALLOWED: 405,
  ES_ERR_CONFLICT: 409,
  ES_ERR_INVALID_RESOURCE: 422,
  ES_ERR_BACKEND_FULL: 503,
  ES_ERR_BACKEND_UNAVAILABLE: 503,
  ES_ERR_SHUTTING_DOWN: 503,
  ES_ERR_NOT_READY: 503,
  ES_ERR_TIMEOUT: 504,
  ES_ERR_INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorBody {
  error: string;
  code: ErrorCode;
}

/** Base class of every error we raise on purpose; carries its registry code and HTTP status. */
export class ElasticServingError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  /** Seconds a client should wait before retrying (sent as Retry-After on 503). */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.statusCode = ERROR_CODES[code];
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }

  toBody(): ErrorBody {
    return { error: this.message, code: this.code };
  }
}

/** The request is not a valid CloudEvent (or batch); status 400. */
export class InvalidEventError extends ElasticServingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ES_ERR_INVALID_EVENT', message, options);
  }
}

/** A channel backend could not durably store events; status 503 with Retry-After. */
export class BackendUnavailableError extends ElasticServingError {
  constructor(message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super('ES_ERR_BACKEND_UNAVAILABLE', message, { retryAfterSeconds: 1, ...options });
  }
}

/** A bounded queue or channel is full; status 503 with Retry-After. */
export class BackendFullError extends ElasticServingError {
  constructor(message: string, options?: { retryAfterSeconds?: number }) {
    super('ES_ERR_BACKEND_FULL', message, { retryAfterSeconds: 1, ...options });
  }
}

/** A resource failed schema validation; the message names the field path. */
export class InvalidResourceError extends ElasticServingError {
  readonly issues: readonly { path: string; message: string }[];
  constructor(message: string, issues: readonly { path: string; message: string }[] = []) {
    super('ES_ERR_INVALID_RESOURCE', message);
    this.issues = issues;
  }
}

export function toErrorBody(err: unknown): { status: number; body: ErrorBody; retryAfterSeconds?: number } {
  if (err instanceof ElasticServingError) {
    return { status: err.statusCode, body: err.toBody(), retryAfterSeconds: err.retryAfterSeconds };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { status: 500, body: { error: message, code: 'ES_ERR_INTERNAL' } };
}
