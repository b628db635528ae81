/** The inference steps HTTP routes and CloudEvents share: find a servable model, run v2 or v1 requests. */
import { ModelNotFoundError, ModelNotReadyError } from './errors.ts';
import type { ModelRepository } from './repository.ts';
import type { ServedModel } from './served-model.ts';
import { encodePredictions, parseInstances } from './v1-predict.ts';
import { encodeInferResponse, fetchesOf, type InferAnswer, parseInferRequest } from './v2-infer.ts';

/** The model serving `name`: 404 when unknown, 503 (with the reason) when known but not READY. */
export function servable(repository: ModelRepository, name: string): ServedModel {
  const served = repository.get(name);
  if (served) return served;
  const status = repository.status(name);
  if (!status) throw new ModelNotFoundError(name);
  throw new ModelNotReadyError(name, status.reason ? `${status.state}: ${status.reason}` : status.state);
}

/** Runs a v2 inference request (already JSON-parsed; `binary` is the binary extension payload). */
export async function inferV2(
  repository: ModelRepository,
  name: string,
  body: unknown,
  binary?: Buffer,
): Promise<InferAnswer> {
  const served = servable(repository, name);
  const req = parseInferRequest(served, body, binary);
  const results = await served.infer(req.feeds, fetchesOf(req));
  return encodeInferResponse(served, req, results);
}

/** Runs a v1 `:predict` request; answers the `{"predictions": …}` JSON. */
export async function predictV1(repository: ModelRepository, name: string, body: unknown): Promise<string> {
  const served = servable(repository, name);
  const feeds = parseInstances(served, body);
  const results = await served.infer(feeds, [served.model.outputs[0]!.name]);
  return encodePredictions(served, results);
}
