import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, LogController } from 'fastify';
import { ElasticServingError, toErrorBody } from '../../../core/errors.ts';
import { clientErrorHandler } from '../../../core/http/client-error.ts';
import type { ObjectChange } from '../types.ts';
import { parseNotification } from './parse.ts';
import type { KeyEncoding } from './records.ts';

/** One webhook-mode StorageSource as the HTTP server sees it. */
export interface WebhookEndpoint {
  /** `<namespace>/<name>` of the source (for logs). */
  source: string;
  /** Bearer token a request must carry; none means no check. Compared in constant time, never logged. */
  token?: string;
  /** How the sender writes object keys. @defaultValue 'auto' */
  keyEncoding?: KeyEncoding;
  /** Emits the changes in order; resolves how many the sink did not accept (delivery stops at the first). */
  deliver(changes: readonly ObjectChange[]): Promise<number>;
}

/** Options of {@link buildStorageWebhookApp}. */
export interface StorageWebhookOptions {
  /** The endpoint served at a request path (`/default/uploads`), if any. */
  endpoint(path: string): WebhookEndpoint | undefined;
  /** Largest notification accepted; larger answers 413. @defaultValue 1048576 */
  maxBodyBytes?: number;
  /** pino level of the server's logger. @defaultValue 'info' */
  logLevel?: string;
}

const ALLOW = 'POST, HEAD, GET, OPTIONS';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** 401 without (or with a malformed) bearer token, 403 with a wrong one, as the ingress does. */
function checkToken(expected: string | undefined, header: string | undefined): void {
  if (expected === undefined) return;
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) {
    throw new ElasticServingError('ES_ERR_UNAUTHORIZED', 'missing bearer token (Authorization: Bearer <token>)');
  }
  if (!timingSafeEqual(digest(match[1]!), digest(expected))) {
    throw new ElasticServingError('ES_ERR_FORBIDDEN', 'wrong bearer token');
  }
}

/**
 * The HTTP server of webhook-mode StorageSources: every source is served at its own path (default
 * `/{namespace}/{name}`). `POST` takes an S3/MinIO notification or a storage CloudEvent and answers 200 only after
 * the sink accepted every change it carries (503 otherwise, so the sender retries); `HEAD` and `GET` answer 200
 * as a liveness check (MinIO sends a HEAD before enabling a webhook target). Refusals are `{"error", "code"}`.
 */
export function buildStorageWebhookApp(options: StorageWebhookOptions): FastifyInstance {
  const app = Fastify({
    logger: { level: options.logLevel ?? 'info' },
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.maxBodyBytes ?? 1024 * 1024,
    clientErrorHandler,
    return503OnClosing: true,
    frameworkErrors: (err, _req, reply) => fail(reply, new ElasticServingError('ES_ERR_BAD_REQUEST', err.message)),
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const fail = (reply: FastifyReply, err: unknown) => {
    const { status, body, retryAfterSeconds } = toErrorBody(err);
    if (retryAfterSeconds !== undefined) reply.header('retry-after', String(retryAfterSeconds));
    if (status === 401) reply.header('www-authenticate', 'Bearer');
    return reply.code(status).send(body);
  };

  app.route({
    method: ['POST', 'HEAD', 'GET', 'OPTIONS', 'PUT', 'DELETE', 'PATCH'],
    url: '/*',
    exposeHeadRoute: false,
    handler: async (req, reply) => {
      const path = req.url.split('?', 1)[0]!.replace(/\/+$/, '');
      const endpoint = options.endpoint(path);
      try {
        if (!endpoint) throw new ElasticServingError('ES_ERR_NOT_FOUND', `no StorageSource webhook at ${path || '/'}`);
        if (req.method === 'HEAD' || req.method === 'GET') return reply.code(200).send();
        if (req.method === 'OPTIONS') return reply.header('allow', ALLOW).code(204).send();
        if (req.method !== 'POST') {
          reply.header('allow', ALLOW);
          throw new ElasticServingError('ES_ERR_METHOD_NOT_ALLOWED', `method ${req.method} not allowed: use POST`);
        }
        checkToken(endpoint.token, req.headers.authorization);
        const { changes, skipped } = parseNotification(
          req.headers,
          req.body as Buffer | undefined,
          endpoint.keyEncoding,
        );
        const undelivered = await endpoint.deliver(changes);
        if (undelivered > 0) {
          throw new ElasticServingError(
            'ES_ERR_BACKEND_UNAVAILABLE',
            `the sink did not accept ${undelivered} of ${changes.length} changes; send the notification again`,
            { retryAfterSeconds: 1 },
          );
        }
        return reply.code(200).send({ accepted: changes.length, skipped });
      } catch (err) {
        if (!(err instanceof ElasticServingError)) req.log.warn({ err, source: endpoint?.source }, 'webhook failed');
        return fail(reply, err);
      }
    },
  });

  app.setNotFoundHandler((req, reply) =>
    fail(reply, new ElasticServingError('ES_ERR_NOT_FOUND', `no StorageSource webhook at ${req.url.split('?', 1)[0]}`)),
  );
  app.setErrorHandler((err: NodeJS.ErrnoException & { statusCode?: number }, _req, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return fail(reply, new ElasticServingError('ES_ERR_BODY_TOO_LARGE', 'notification body too large'));
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return fail(reply, new ElasticServingError('ES_ERR_BAD_REQUEST', err.message));
    }
    return fail(reply, err);
  });
  return app;
}
