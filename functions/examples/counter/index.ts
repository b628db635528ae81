/** Counts the events it receives and answers 202 (no reply): a sink for demos and delivery tests. */
import { defineFunction } from 'elastic-serving/sdk';

let received = 0;

export default defineFunction(async (event, ctx) => {
  received++;
  if (received % 1000 === 0 || ctx.logger.isLevelEnabled('debug'))
    ctx.logger.info({ received, type: event.type }, 'events received');
});
