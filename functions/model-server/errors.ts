/**
 * The model server's errors, with KServe's messages and statuses (400 bad input, 404 unknown model, 503 not
 * ready). They extend the platform's error registry so every service maps them to HTTP the same way; the v2/v1
 * routes answer them as KServe does: `{"error": "<message>"}`.
 */
import { ElasticServingError } from '../../services/core/errors.ts';

/** The request is malformed or does not fit the model (wrong name, datatype, shape, value). */
export class InvalidInputError extends ElasticServingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ES_ERR_BAD_REQUEST', message, options);
  }
}

/** No model of that name is known to this server (or, for load, to its model config). */
export class ModelNotFoundError extends ElasticServingError {
  readonly modelName: string;
  constructor(modelName: string, detail?: string) {
    super('ES_ERR_NOT_FOUND', `Model with name ${modelName} does not exist.${detail ? ` ${detail}` : ''}`);
    this.modelName = modelName;
  }
}

/** The model is known but cannot serve: still loading, or its load failed (the reason follows). */
export class ModelNotReadyError extends ElasticServingError {
  readonly modelName: string;
  constructor(modelName: string, detail?: string, options?: { cause?: unknown }) {
    super('ES_ERR_NOT_READY', `Model with name ${modelName} is not ready.${detail ? ` ${detail}` : ''}`, {
      ...options,
      retryAfterSeconds: 1,
    });
    this.modelName = modelName;
  }
}

/** Fetching or parsing a model file failed; the message says where and why (never credentials). */
export class ModelLoadError extends ElasticServingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ES_ERR_INTERNAL', message, options);
  }
}
