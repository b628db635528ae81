import { BackendFullError, BackendUnavailableError, ElasticServingError } from '../../services/core/errors.ts';

/** The parts of a nats.js `NatsError` we read (kept structural so any thrown value can be inspected). */
interface NatsErrorLike {
  code?: unknown;
  message?: unknown;
  api_error?: { code?: number; err_code?: number; description?: string };
}

const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;
const MESSAGE_TOO_LARGE = 10054;

function fields(err: unknown): NatsErrorLike {
  return typeof err === 'object' && err !== null ? (err as NatsErrorLike) : {};
}

/** JetStream said the stream does not exist. */
export function isStreamNotFound(err: unknown): boolean {
  const e = fields(err);
  return e.api_error?.err_code === STREAM_NOT_FOUND || e.message === 'stream not found';
}

/** JetStream said the consumer (or its stream) does not exist. */
export function isNotFound(err: unknown): boolean {
  const e = fields(err);
  return isStreamNotFound(err) || e.api_error?.err_code === CONSUMER_NOT_FOUND || e.message === 'consumer not found';
}

/** Nobody answered on the subject: no stream captures it, or JetStream is not (yet) up. */
export function isNoResponders(err: unknown): boolean {
  return fields(err).code === '503';
}

/**
 * Turns whatever nats.js threw into one of our errors: too large → 413, stream limits → `BackendFullError`,
 * everything else (timeouts, closed connection, JetStream hiccups) → `BackendUnavailableError`, so the ingress
 * answers 503 and the client resends.
 */
export function toChannelError(err: unknown, what: string): ElasticServingError {
  if (err instanceof ElasticServingError) return err;
  const e = fields(err);
  const message = typeof e.message === 'string' ? e.message : String(err);
  const description = e.api_error?.description ?? message;
  if (e.code === 'MAX_PAYLOAD_EXCEEDED' || e.api_error?.err_code === MESSAGE_TOO_LARGE) {
    return new ElasticServingError(
      'ES_ERR_BODY_TOO_LARGE',
      `${what}: the event is larger than the NATS server accepts (max_payload / stream max_msg_size): ${description}`,
      { cause: err },
    );
  }
  if (
    /maximum (messages|bytes) exceeded|insufficient (storage )?resources|resource limits exceeded/i.test(description)
  ) {
    return new BackendFullError(`${what}: JetStream refused it: ${description}`);
  }
  return new BackendUnavailableError(`${what}: ${description}`, { cause: err });
}
