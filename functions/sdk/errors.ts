/**
 * Errors a function author throws to steer delivery (DESIGN §5 "Function handlers").
 *
 * Both carry a `Symbol.for` brand besides their class so the SDK recognises them even when a handler bundle ends
 * up with a second copy of this module (two SDK versions, or a handler built against another checkout).
 */
const NON_RETRIABLE = Symbol.for('elastic-serving.sdk.NonRetriableError');
const RETRY_AFTER = Symbol.for('elastic-serving.sdk.RetryAfterError');

/** The event can never succeed (bad input): the broker must not retry. Answers 400 or the 4xx given. */
export class NonRetriableError extends Error {
  /** HTTP status sent back; always a 4xx. */
  readonly status: number;
  readonly [NON_RETRIABLE] = true;

  constructor(message: string, options?: { status?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NonRetriableError';
    const status = options?.status ?? 400;
    // Anything outside 4xx would be retried by the broker, which is the opposite of what was asked for.
    this.status = Number.isInteger(status) && status >= 400 && status <= 499 ? status : 400;
  }
}

/** The function is temporarily unable to handle the event: answers 503 with `Retry-After: seconds`. */
export class RetryAfterError extends Error {
  /** Whole seconds the sender should wait (at least 0). */
  readonly seconds: number;
  readonly [RETRY_AFTER] = true;

  constructor(seconds: number, message = `retry after ${seconds}s`, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RetryAfterError';
    this.seconds = Number.isFinite(seconds) && seconds > 0 ? Math.ceil(seconds) : 0;
  }
}

export function isNonRetriable(err: unknown): err is NonRetriableError {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[NON_RETRIABLE] === true;
}

export function isRetryAfter(err: unknown): err is RetryAfterError {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[RETRY_AFTER] === true;
}
