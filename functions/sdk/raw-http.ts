import type { IncomingHttpHeaders } from 'node:http';
import { type Answer, answerForError, errorAnswer, type Invoker } from './invoke.ts';
import type { LazyAbort } from './lazy-abort.ts';
import type { FunctionDefinition, HttpRequest } from './types.ts';

/** Binary mode carries `ce-specversion`; structured and batched modes say so in their content type. */
export function isCloudEventRequest(method: string | undefined, headers: IncomingHttpHeaders): boolean {
  if (method !== 'POST') return false;
  if (headers['ce-specversion'] !== undefined) return true;
  return (headers['content-type'] ?? '').trimStart().toLowerCase().startsWith('application/cloudevents');
}

/** The request as `options.http` sees it; the signal is made only if the handler asks for it (most never do). */
class RawRequest implements HttpRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer | undefined;
  readonly #abort: LazyAbort;

  constructor(req: {
    method: string;
    path: string;
    headers: IncomingHttpHeaders;
    body: Buffer | undefined;
    abort: LazyAbort;
  }) {
    this.method = req.method;
    this.path = req.path;
    this.headers = req.headers;
    this.body = req.body;
    this.#abort = req.abort;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }
}

/** Runs `options.http` for a request that is not a CloudEvent, under the same deadline as events. */
export async function invokeHttp(
  def: FunctionDefinition,
  inv: Invoker,
  req: { method: string; path: string; headers: IncomingHttpHeaders; body: Buffer | undefined; abort: LazyAbort },
): Promise<Answer> {
  const http = def.options.http;
  if (!http) return errorAnswer(404, `no route for ${req.method} ${req.path}`, 'ES_ERR_NOT_FOUND');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<Answer>((resolve) => {
    timer = setTimeout(() => {
      req.abort.abort(new Error(`deadline of ${inv.timeoutMs} ms exceeded`));
      resolve(errorAnswer(504, `handler did not answer within ${inv.timeoutMs} ms`));
    }, inv.timeoutMs);
  });
  const run = async (): Promise<Answer> => {
    try {
      const answer = await http(new RawRequest(req));
      if (answer === undefined) return errorAnswer(404, `no route for ${req.method} ${req.path}`, 'ES_ERR_NOT_FOUND');
      const body = typeof answer.body === 'string' ? Buffer.from(answer.body) : answer.body;
      return body
        ? { status: answer.status, headers: { ...answer.headers }, body }
        : { status: answer.status, headers: { ...answer.headers } };
    } catch (err) {
      return answerForError(err, inv.logger);
    }
  };
  try {
    return await Promise.race([run(), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
