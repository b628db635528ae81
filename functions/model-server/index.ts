/**
 * The model server Function (DESIGN §8): ONNX models from the model config file (`ES_MODEL_CONFIG`), served over
 * the Open Inference Protocol v2 (+ KServe v1) routes and `dev.elasticserving.inference.request` CloudEvents.
 * A replica reports ready once every listed model has loaded or failed.
 */
import { defineFunction } from 'elastic-serving/sdk';
import { ModelServer } from './model-server.ts';

export const server = new ModelServer();

export default defineFunction(server.onEvent, {
  name: process.env.ES_FUNCTION_NAME || 'model-server',
  init: (ctx) => server.start(ctx.logger),
  http: server.http,
});
