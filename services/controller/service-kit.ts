/**
 * What every service deployed on its own shares (the `main.ts` files): a logger, the connection to the control
 * API, and a small health/metrics endpoint for services that have no HTTP server of their own.
 */
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { collectProcessMetrics, createMetrics, type Metrics } from '../core/metrics.ts';
import type { PlatformOptions } from '../platform/options.ts';
import { RemoteResourceStore, type RemoteStoreOptions } from './remote-store.ts';
import type { ChannelName } from './resources/index.ts';

/** A service started by one of the `main.ts` files. */
export interface RunningService {
  /** Base URLs it listens on, by role (`control`, `ingress`, `gateway`, `health`). */
  urls: Record<string, string>;
  /** Stops taking work, finishes what is in flight (bounded), closes connections. Idempotent. */
  stop(): Promise<void>;
}

/** What a service's start function takes besides its config. */
export interface ServiceStartOptions {
  /** @defaultValue a pino logger at the config's level, named after the service */
  logger?: Logger;
  /** Aborting gives up waiting for the control API (a SIGTERM during start). @defaultValue never aborted */
  signal?: AbortSignal;
}

/** Channel settings of a service that opens channels, the same fields (and flags) as the embedded platform's. */
export type ChannelConfig = Pick<
  PlatformOptions,
  'channel' | 'natsUrl' | 'kafkaBrokers' | 'redisUrl' | 'channelPrefix' | 'memoryMaxEvents' | 'memoryMaxBytes'
>;

export function serviceLogger(name: string, level: string): Logger {
  return pino({ level, base: { name: `elastic-serving-${name}` } });
}

/** What a service working against the control API starts with. */
export interface ServiceBase {
  log: Logger;
  store: RemoteResourceStore;
  /** With the process metrics already collected. */
  metrics: Metrics;
}

/** The logger (given or made), the control API once it answers (see `connectControlApi`), and the metrics. */
export async function startServiceBase(
  name: string,
  config: { logLevel: string; control: RemoteStoreOptions },
  options: ServiceStartOptions,
): Promise<ServiceBase> {
  const log = options.logger ?? serviceLogger(name, config.logLevel);
  const store = await connectControlApi(config.control, log, options.signal);
  const metrics = createMetrics();
  collectProcessMetrics(metrics);
  return { log, store, metrics };
}

/** A RunningService whose `stop` runs `shutdown` once (later calls share its promise), then logs `stopped`. */
export function runningService(
  urls: Record<string, string>,
  log: Logger,
  shutdown: () => Promise<void>,
): RunningService {
  let stopping: Promise<void> | undefined;
  return {
    urls,
    stop: () =>
      (stopping ??= (async () => {
        await shutdown();
        log.info('stopped');
      })()),
  };
}

/** `http://host:port` of a listening server (IPv6 bracketed). */
export function boundUrl(address: AddressInfo | string | null, fallbackHost: string): string {
  if (address === null || typeof address === 'string') return `http://${fallbackHost}`;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

/**
 * A RemoteResourceStore once the control API answers: a service started before its controller (a compose file,
 * a rollout) waits, logging, instead of failing. Gives up on 401/403 (a wrong token does not fix itself) or when
 * `signal` aborts.
 */
export async function connectControlApi(
  options: RemoteStoreOptions,
  logger: Logger,
  signal?: AbortSignal,
): Promise<RemoteResourceStore> {
  const store = new RemoteResourceStore({
    ...options,
    onWatchBreak: ({ kind, err, retryInMs }) =>
      logger.warn({ kind, err: err.message, retryInMs }, 'control API watch broke; resuming'),
  });
  for (let attempt = 1; ; attempt++) {
    try {
      await store.list('Broker');
      logger.info({ server: store.server }, 'connected to the control API');
      return store;
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      if (status === 401 || status === 403 || signal?.aborted) {
        await store.close();
        throw err;
      }
      const ms = Math.min(5_000, 100 * 2 ** Math.min(attempt, 6));
      logger.warn({ server: store.server, err: (err as Error).message, retryInMs: ms }, 'waiting for the control API');
      await sleep(ms, signal);
    }
  }
}

export interface HealthServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  registry: Registry;
  /** `undefined` when ready, else why not (answered 503 on `/readyz`). */
  notReady?: () => string | undefined;
}

/** `/healthz` (alive), `/readyz` and `/metrics` (Prometheus) for probes and scrapers. */
export async function startHealthServer(options: HealthServerOptions): Promise<{ url: string; app: FastifyInstance }> {
  const app = Fastify({ logger: false });
  app.get('/healthz', async () => 'ok');
  app.get('/readyz', async (_req, reply) => {
    const why = options.notReady?.();
    return why === undefined ? 'ok' : reply.code(503).send(why);
  });
  app.get('/metrics', async (_req, reply) =>
    reply.type(options.registry.contentType).send(await options.registry.metrics()),
  );
  await app.listen({ host: options.host, port: options.port });
  return { url: boundUrl(app.server.address(), options.host), app };
}

/** Why a Broker on the memory channel cannot be served by services deployed apart. */
export const MEMORY_NOT_SHARED =
  'the memory channel lives inside one process; services deployed apart need nats, kafka or redis (or use `up`)';

/**
 * Wraps a channel getter for a service deployed on its own: the ingress appends and the router consumes in
 * different processes, so a memory channel would take events that no one ever delivers. Such Brokers are not
 * Ready (ChannelUnavailable) instead.
 */
export function sharedChannels<T>(
  get: (name: ChannelName) => Promise<T | string>,
): (name: ChannelName) => Promise<T | string> {
  return (name) => (name === 'memory' ? Promise.resolve(MEMORY_NOT_SHARED) : get(name));
}
