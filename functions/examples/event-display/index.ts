/** Logs every event it receives (attributes and data) and answers 202: Knative's event-display, as a function. */
import { defineFunction } from 'elastic-serving/sdk';

export default defineFunction(async (event, ctx) => {
  const { knativearrivaltime: _arrival, ...attributes } = event.attributes;
  ctx.logger.info({ attributes, data: event.data }, `received ${event.type} from ${event.source}`);
});
