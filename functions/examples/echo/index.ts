/** Echoes each event's data back as a `dev.elasticserving.echo.reply` event (the demo function of deploy/local). */
import { defineFunction } from 'elastic-serving/sdk';

export default defineFunction(
  async (event, ctx) => {
    ctx.logger.info({ source: event.source, bytes: event.dataBytes?.length ?? 0 }, 'echo');
    return event.data ?? null;
  },
  { replyType: 'dev.elasticserving.echo.reply' },
);
