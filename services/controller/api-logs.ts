/**
 * `GET /apis/serving.elastic-serving.dev/v1/namespaces/{ns}/functions/{name}/log`: a Function's replica logs as
 * text, shaped like Kubernetes' pod `log` subresource (`follow`, `tailLines`, `sinceSeconds`), with `replica`
 * in place of `container` and `prefix` (`[<replica>] ` before each line; default: when more than one replica is
 * shown). Failures before the first byte are `Status` bodies like every other route; once streaming, a failure
 * just ends the stream, as in Kubernetes.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ElasticServingError } from '../core/errors.ts';
import { kindAt } from './api-discovery.ts';
import { NotFoundError } from './errors.ts';
import type { LogSource } from './log-source.ts';
import { streamLogs } from './log-stream.ts';
import type { ResourceStore } from './store.ts';

export interface LogApiOptions {
  /**
   * Where Function replica logs are read from (the platform passes its runtime's). Without one the log endpoint
   * answers 404 saying this control plane serves no logs.
   * @defaultValue undefined (no logs)
   */
  logSource?: LogSource;
  /** How often a followed log is checked for new lines and new replicas, in milliseconds. @defaultValue 250 */
  logPollIntervalMs?: number;
}

interface LogParams {
  group: string;
  version: string;
  namespace: string;
  plural: string;
  name: string;
}

interface LogQuery {
  follow?: string;
  tailLines?: string;
  sinceSeconds?: string;
  replica?: string;
  prefix?: string;
}

type LogRequest = FastifyRequest<{ Params: LogParams; Querystring: LogQuery }>;

function badRequest(message: string): ElasticServingError {
  return new ElasticServingError('ES_ERR_BAD_REQUEST', message);
}

function flag(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw badRequest(`${name} must be true or false, not ${JSON.stringify(value)}`);
}

function count(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw badRequest(`${name} must be an integer of at least ${min}, not ${JSON.stringify(value)}`);
  }
  return n;
}

/** Registers the route on the control API; `open` collects the ends of live streams, for the server's close. */
export function registerLogRoute(
  app: FastifyInstance,
  opts: LogApiOptions & { store: ResourceStore },
  open: Set<() => void>,
): void {
  app.get(
    '/apis/:group/:version/namespaces/:namespace/:plural/:name/log',
    async (req: LogRequest, reply: FastifyReply) => {
      const { group, version, plural, namespace, name } = req.params;
      if (kindAt(group, version, plural)?.kind !== 'Function') {
        throw new ElasticServingError('ES_ERR_NOT_FOUND', 'the server could not find the requested resource');
      }
      const q = req.query;
      const follow = flag('follow', q.follow) ?? false;
      const prefix = flag('prefix', q.prefix);
      const tailLines = count('tailLines', q.tailLines, 0);
      const sinceSeconds = count('sinceSeconds', q.sinceSeconds, 1);
      if (q.replica === '') throw badRequest('replica must not be empty');
      if ((await opts.store.get({ kind: 'Function', namespace, name })) === undefined) {
        throw new NotFoundError('Function', namespace, name);
      }
      const source = opts.logSource;
      if (source === undefined) {
        throw new ElasticServingError(
          'ES_ERR_NOT_FOUND',
          'replica logs are not served by this control API: it was started without a log source',
        );
      }
      if (q.replica !== undefined) {
        const replicas = (await source.files(namespace, name)).map((f) => f.replica);
        if (!replicas.includes(q.replica)) {
          const known = replicas.length === 0 ? 'it has none yet' : `it has ${replicas.join(', ')}`;
          throw new ElasticServingError(
            'ES_ERR_NOT_FOUND',
            `replica "${q.replica}" of Function ${namespace}/${name} not found (${known})`,
          );
        }
      }

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'no-cache, private',
        'x-content-type-options': 'nosniff',
        // A follow ends when the server closes; its connection must not then hold the close for keep-alive.
        ...(follow ? { connection: 'close' } : {}),
      });
      // A follower sees the stream is open before the first line (a Function may have no replica yet).
      if (follow) res.flushHeaders();
      const stop = new AbortController();
      const end = () => stop.abort();
      const gone = () => res.destroyed || res.writableEnded;
      open.add(end);
      res.once('close', end);
      const deleted = follow ? await watchDeletion(opts.store, namespace, name, end) : undefined;
      try {
        await streamLogs({
          source,
          namespace,
          name,
          follow,
          stop: stop.signal,
          pollIntervalMs: opts.logPollIntervalMs ?? 250,
          write: (text) => write(res, text, gone),
          ...(q.replica === undefined ? {} : { replica: q.replica }),
          ...(tailLines === undefined ? {} : { tailLines }),
          ...(sinceSeconds === undefined ? {} : { sinceSeconds }),
          ...(prefix === undefined ? {} : { prefix }),
        });
      } catch (err) {
        req.log.error({ err, namespace, name }, 'streaming replica logs failed');
      } finally {
        open.delete(end);
        deleted?.close();
        if (!gone()) res.end();
      }
      return reply;
    },
  );
}

/** Writes with back-pressure: waits for `drain` when the socket's buffer is full. */
function write(res: FastifyReply['raw'], text: string, gone: () => boolean): Promise<boolean> {
  if (gone()) return Promise.resolve(false);
  if (res.write(text)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve(!gone());
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** A follow ends when its Function is deleted, as `kubectl logs -f` ends with its pod. */
async function watchDeletion(
  store: ResourceStore,
  namespace: string,
  name: string,
  onDeleted: () => void,
): Promise<{ close(): void } | undefined> {
  try {
    return await store.watch(
      'Function',
      (event) => {
        if (event.type === 'DELETED' && event.object.metadata.name === name) onDeleted();
      },
      // A watch that breaks only loses this nicety; the follow goes on.
      { namespace, onError: () => undefined },
    );
  } catch {
    return undefined;
  }
}
