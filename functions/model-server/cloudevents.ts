/**
 * Inference over CloudEvents (DESIGN §8): a `dev.elasticserving.inference.request` (or KServe's
 * `io.kserve.inference.request`) whose data is a v2 body (`inputs`) or a v1 body (`instances`) is answered with a
 * `dev.elasticserving.inference.response` (`io.kserve.inference.response` for KServe's type) from
 * `/models/{model}` whose data is the response body.
 *
 * The model is the event's `model` extension, else its `subject`, else the only model loaded. Failures throw, so
 * the delivery fails with the reason instead of succeeding with an empty reply: bad input and unknown models are
 * NonRetriableError (400/404; the broker still retries 404 as Knative does, since a model may be on its way),
 * a model not ready is RetryAfterError, anything else a plain Error (500, retried).
 */
import { randomUUID } from 'node:crypto';
import { type CloudEvent, type Handler, makeEvent, NonRetriableError, RetryAfterError } from 'elastic-serving/sdk';
import { ElasticServingError } from '../../services/core/errors.ts';
import { InvalidInputError, ModelNotFoundError, ModelNotReadyError } from './errors.ts';
import { inferV2, predictV1 } from './inference.ts';
import type { ModelRepository } from './repository.ts';

export const REQUEST_TYPE = 'dev.elasticserving.inference.request';
export const RESPONSE_TYPE = 'dev.elasticserving.inference.response';
export const KSERVE_REQUEST_TYPE = 'io.kserve.inference.request';
export const KSERVE_RESPONSE_TYPE = 'io.kserve.inference.response';

/** Extensions a reply carries over from its request, so callers and ordered consumers can match them up. */
const COPIED_EXTENSIONS = ['partitionkey', 'correlationid', 'traceparent', 'tracestate'] as const;

function modelOf(attributes: Record<string, unknown>, repository: ModelRepository): string {
  const named = attributes.model ?? attributes.subject;
  if (typeof named === 'string' && named !== '') return named;
  const names = repository.names();
  if (names.length === 1) return names[0]!;
  throw new NonRetriableError(
    `the event names no model: set the 'model' extension attribute or the subject (this server holds ${names.length} models)`,
  );
}

function toDeliveryError(err: unknown): Error {
  if (err instanceof ModelNotReadyError)
    return new RetryAfterError(err.retryAfterSeconds ?? 1, err.message, { cause: err });
  if (err instanceof ModelNotFoundError) return new NonRetriableError(err.message, { status: 404, cause: err });
  if (err instanceof InvalidInputError) return new NonRetriableError(err.message, { status: 400, cause: err });
  if (err instanceof ElasticServingError) return new Error(err.message, { cause: err });
  return err instanceof Error ? err : new Error(String(err));
}

export function createInferenceHandler(repository: ModelRepository): Handler {
  return async (event) => {
    const type = event.type;
    if (type !== REQUEST_TYPE && type !== KSERVE_REQUEST_TYPE) {
      throw new NonRetriableError(`unsupported event type '${type}': send ${REQUEST_TYPE} (or ${KSERVE_REQUEST_TYPE})`);
    }
    const attributes = event.attributes as Record<string, unknown>;
    const model = modelOf(attributes, repository);
    const data = event.data;
    if (typeof data !== 'object' || data === null || Buffer.isBuffer(data) || Array.isArray(data)) {
      throw new NonRetriableError(
        'the event data must be a JSON inference request: a v2 body ("inputs") or a v1 body ("instances")',
      );
    }
    let body: string;
    try {
      if ('inputs' in data) body = (await inferV2(repository, model, data)).json;
      else if ('instances' in data) body = await predictV1(repository, model, data);
      else throw new InvalidInputError('the event data has neither "inputs" (v2) nor "instances" (v1)');
    } catch (err) {
      throw toDeliveryError(err);
    }
    const reply: Record<string, string> = {
      id: randomUUID(),
      source: `/models/${model}`,
      type: type === KSERVE_REQUEST_TYPE ? KSERVE_RESPONSE_TYPE : RESPONSE_TYPE,
      datacontenttype: 'application/json',
      model,
      // Without a correlation id of its own, the reply correlates to the request's id.
      correlationid: event.id,
    };
    for (const name of COPIED_EXTENSIONS) {
      const v = attributes[name];
      if (v !== undefined) reply[name] = String(v);
    }
    return makeEvent(reply as Parameters<typeof makeEvent>[0], Buffer.from(body)) satisfies CloudEvent;
  };
}
