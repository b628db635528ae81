import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import type { CloudEvent } from '../../services/core/cloudevent.ts';
import { ElasticServingError } from '../../services/core/errors.ts';
import { encodeBinary, parseHttpEvent } from '../../services/core/http/codec.ts';
import { isNonRetriable, isRetryAfter } from './errors.ts';
import { RequestEvent } from './event-view.ts';
import type { LazyAbort } from './lazy-abort.ts';
import { toReplyEvent } from './reply.ts';
import type { FunctionContext, FunctionDefinition } from './types.ts';

/** One HTTP answer, independent of the server that writes it (so it can be tested without sockets). */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body?: Buffer;
}

/** Facts about the running replica every invocation shares. */
export interface Invoker {
  name: string;
  namespace: string;
  logger: Logger;
  timeoutMs: number;
  replyType: string | undefined;
  replySource: string;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

export function errorAnswer(status: number, message: string, code?: string, extra?: Record<string, string>): Answer {
  const body = Buffer.from(JSON.stringify(code ? { error: message, code } : { error: message }));
  return { status, headers: { ...JSON_HEADERS, ...extra }, body };
}

/** Knows the handler failed on purpose (typed errors) or by accident, and answers as DESIGN §5 says. */
export function answerForError(err: unknown, log: Logger): Answer {
  if (isNonRetriable(err)) return errorAnswer(err.status, err.message);
  if (isRetryAfter(err)) return errorAnswer(503, err.message, undefined, { 'retry-after': String(err.seconds) });
  const message = err instanceof Error ? err.message : String(err);
  log.error({ err }, 'handler failed');
  return errorAnswer(500, message || 'handler failed');
}

/**
 * Runs the handler for one request: parse (binary or structured), call, map the result. The deadline is enforced
 * here too (504 and an aborted signal) so a stuck handler cannot hold a caller longer than `timeoutMs`.
 */
export async function invoke(
  def: FunctionDefinition,
  inv: Invoker,
  req: { headers: IncomingHttpHeaders; body: Buffer | undefined; path: string; abort: LazyAbort },
): Promise<Answer> {
  let event: CloudEvent;
  try {
    event = parseHttpEvent(req.headers, req.body);
  } catch (err) {
    if (err instanceof ElasticServingError) return errorAnswer(err.statusCode, err.message, err.code);
    return errorAnswer(400, err instanceof Error ? err.message : String(err), 'ES_ERR_INVALID_EVENT');
  }
  // One lazily made signal for both ways a handler's work ends early: the caller went away, or the deadline.
  const abort = req.abort;
  const deadline = Date.now() + inv.timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<Answer>((resolve) => {
    timer = setTimeout(() => {
      abort.abort(new Error(`deadline of ${inv.timeoutMs} ms exceeded`));
      resolve(errorAnswer(504, `handler did not answer within ${inv.timeoutMs} ms`));
    }, inv.timeoutMs);
  });
  let logger: Logger | undefined;
  const attrs = event.attributes;
  const ctx: FunctionContext = {
    name: inv.name,
    namespace: inv.namespace,
    // A child logger per event costs an allocation most handlers never use, so it is made on first access.
    get logger() {
      logger ??= inv.logger.child({ ceId: attrs.id, ceType: attrs.type });
      return logger;
    },
    get signal() {
      return abort.signal;
    },
    deadline,
    path: req.path,
    headers: req.headers,
  };
  const run = async (): Promise<Answer> => {
    try {
      const result = await def.handler(new RequestEvent(event), ctx);
      let reply: CloudEvent | undefined;
      try {
        reply = toReplyEvent(result, event, {
          type: inv.replyType ?? `${attrs.type}.response`,
          source: inv.replySource,
        });
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        inv.logger.error({ err }, 'handler returned an invalid CloudEvent');
        return errorAnswer(500, `handler returned an invalid CloudEvent: ${reason}`);
      }
      if (!reply) return { status: 202, headers: {} };
      const encoded = encodeBinary(reply);
      return encoded.body
        ? { status: 200, headers: encoded.headers, body: encoded.body }
        : { status: 200, headers: encoded.headers };
    } catch (err) {
      return answerForError(err, ctx.logger);
    }
  };
  try {
    return await Promise.race([run(), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
