import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import type { EventLog } from '../../brokers/contract.ts';
import { EXT_ARRIVAL_TIME, EXT_BROKER_TTL } from '../core/cloudevent.ts';
import { BackendUnavailableError, ElasticServingError, toErrorBody } from '../core/errors.ts';
import { clientErrorHandler, writeJsonAndClose } from '../core/http/client-error.ts';
import { parseHttpEvents } from '../core/http/codec.ts';
import type { Metrics } from '../core/metrics.ts';
import { checkIngressAuth, type IngressAuthOptions } from './auth.ts';

/** Where events for one broker go. */
export interface BrokerTarget {
  topic: string;
  log: EventLog;
}

export interface IngressOptions {
  /** Finds a broker's channel; `undefined` answers 404. A broker that exists but is not ready may throw a 503. */
  resolveBroker(namespace: string, name: string): BrokerTarget | undefined;
  /**
   * Largest request body accepted; larger answers 413.
   * @defaultValue 1048576
   */
  maxBodyBytes?: number;
  /** Bearer-token auth; off when undefined. @defaultValue undefined */
  auth?: IngressAuthOptions;
  /** Metrics to count into; none when undefined. */
  metrics?: Metrics;
  /** pino level for the ingress logger. @defaultValue 'info' */
  logLevel?: string;
  /** TTL given to events that carry none (Knative's default). @defaultValue 255 */
  defaultTtl?: number;
}

const ALLOW = 'POST, OPTIONS';

/**
 * The broker ingress: `POST /{namespace}/{broker}` with a CloudEvent (binary, structured or batch). Answers 202 only
 * after the channel stored every event of the request; every refusal is `{"error", "code"}` with a 4xx/5xx status.
 */
export function buildIngress(options: IngressOptions): FastifyInstance {
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const defaultTtl = options.defaultTtl ?? 255;
  const app = Fastify({
    logger: { level: options.logLevel ?? 'info' },
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: maxBodyBytes,
    clientErrorHandler,
    return503OnClosing: true,
    // Node answers a Host-less HTTP/1.1 request with a bare 400 of its own; the POST route refuses it with a reason.
    http: { requireHostHeader: false },
    // The router's own refusals (broken percent-encoding, over-long names) would otherwise answer FST_ERR_* bodies.
    frameworkErrors: (err, req, reply) => fail(reply, req, new ElasticServingError('ES_ERR_BAD_REQUEST', err.message)),
  });
  // Node would answer an unknown Expect with a bare 417, and close a CONNECT without a word.
  app.server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const body = JSON.stringify({
      error: `unsupported Expect: ${req.headers.expect ?? ''} (only 100-continue)`,
      code: 'ES_ERR_BAD_REQUEST',
    });
    res
      .writeHead(417, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        connection: 'close',
      })
      .end(body);
  });
  app.server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    writeJsonAndClose(
      socket,
      405,
      { error: 'method CONNECT not allowed: use POST', code: 'ES_ERR_METHOD_NOT_ALLOWED' },
      { allow: ALLOW },
    );
  });
  let closing = false;
  app.addHook('onClose', async () => {
    closing = true;
  });

  // Every media type arrives as raw bytes: binary-mode data is opaque, and the codec reads JSON modes itself.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  // Labelled counters cached by broker and outcome: a label lookup per request showed in the ingress profile.
  const counters = new Map<string, { inc(n: number): void }>();
  const count = (namespace: string, broker: string, outcome: string, reason: string, n = 1) => {
    if (!options.metrics) return;
    const key = `${namespace}/${broker}/${outcome}/${reason}`;
    let counter = counters.get(key);
    if (!counter) {
      counter = options.metrics.ingressEvents.labels({ namespace, broker, outcome, reason });
      counters.set(key, counter);
    }
    counter.inc(n);
  };

  const fail = (reply: FastifyReply, req: FastifyRequest, err: unknown) => {
    const { status, body, retryAfterSeconds } = toErrorBody(err);
    if (status >= 500) req.log.warn({ err }, 'ingress could not store events');
    if (retryAfterSeconds !== undefined) reply.header('retry-after', String(retryAfterSeconds));
    // Only known brokers get their own series, so random paths cannot grow the metrics without bound.
    const { namespace = '', broker = '' } = (req.params ?? {}) as Record<string, string>;
    const known = namespace !== '' && broker !== '' && options.resolveBroker(namespace, broker) !== undefined;
    count(known ? namespace : '', known ? broker : '', 'rejected', body.code);
    return reply.code(status).send(body);
  };

  // Whatever a channel throws, the events were not confirmed stored: the client must resend, never see a 500.
  const unstored = (err: unknown): never => {
    if (err instanceof ElasticServingError) throw err;
    throw new BackendUnavailableError(`the channel did not store the events: ${(err as Error)?.message ?? err}`, {
      cause: err,
    });
  };

  app.post('/:namespace/:broker', async (req, reply) => {
    const { namespace, broker } = req.params as { namespace: string; broker: string };
    try {
      if (closing)
        throw new ElasticServingError('ES_ERR_SHUTTING_DOWN', 'ingress is shutting down', { retryAfterSeconds: 1 });
      if (req.headers.host === undefined && req.raw.httpVersion === '1.1') {
        throw new ElasticServingError('ES_ERR_BAD_REQUEST', 'HTTP/1.1 request without a Host header');
      }
      checkIngressAuth(options.auth, req.headers.authorization, namespace, broker);
      const target = options.resolveBroker(namespace, broker);
      if (!target) throw new ElasticServingError('ES_ERR_BROKER_NOT_FOUND', `broker ${namespace}/${broker} not found`);
      const events = parseHttpEvents(req.headers, req.body as Buffer | undefined);
      const arrival = new Date().toISOString();
      for (const event of events) {
        const attrs = event.attributes;
        attrs[EXT_ARRIVAL_TIME] = arrival;
        if (attrs[EXT_BROKER_TTL] === undefined) attrs[EXT_BROKER_TTL] = defaultTtl;
      }
      if (events.length > 0) await target.log.append(target.topic, events).catch(unstored);
      count(namespace, broker, 'accepted', 'ok', events.length);
      return reply.code(202).send();
    } catch (err) {
      return fail(reply, req, err);
    }
  });

  app.options('/:namespace/:broker', async (req, reply) => {
    reply.header('allow', ALLOW).header('webhook-allowed-origin', req.headers['webhook-request-origin'] ?? '*');
    reply.header('webhook-allowed-rate', '*');
    return reply.code(200).send();
  });

  app.route({
    method: ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH'],
    url: '/:namespace/:broker',
    handler: async (req, reply) => {
      reply.header('allow', ALLOW);
      return fail(
        reply,
        req,
        new ElasticServingError('ES_ERR_METHOD_NOT_ALLOWED', `method ${req.method} not allowed: use POST`),
      );
    },
  });

  app.setNotFoundHandler((req, reply) =>
    fail(
      reply,
      req,
      new ElasticServingError(
        'ES_ERR_NOT_FOUND',
        `no route ${req.method} ${req.url}: publish to POST /{namespace}/{broker}`,
      ),
    ),
  );

  app.setErrorHandler((err: NodeJS.ErrnoException & { statusCode?: number }, req, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return fail(
        reply,
        req,
        new ElasticServingError('ES_ERR_BODY_TOO_LARGE', `body exceeds the ${maxBodyBytes}-byte limit`),
      );
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return fail(reply, req, new ElasticServingError('ES_ERR_BAD_REQUEST', err.message));
    }
    return fail(reply, req, err);
  });

  return app;
}
