/**
 * The replica's HTTP server.
 *
 * Built on node:http rather than fastify on purpose: a replica is started on every scale-up (and, later, on the
 * first event for a function at zero), so its cold start and memory are on the user's critical path; one route
 * and a body reader need no framework. Keep-alive stays on so the gateway reuses connections.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type Logger, pino } from 'pino';
import { asDefinition } from './define.ts';
import { type DirectLoadMessage, HandedConnections, type HandoffMessage } from './handoff.ts';
import { type Answer, errorAnswer, type Invoker, invoke } from './invoke.ts';
import { LazyAbort } from './lazy-abort.ts';
import { invokeHttp, isCloudEventRequest } from './raw-http.ts';
import type { FunctionDefinition, Handler } from './types.ts';

export interface ServeOptions {
  /**
   * Port to listen on; 0 picks a free one (the runtime does this and learns the port over IPC).
   * @defaultValue Number(process.env.PORT), else 8080
   */
  port?: number;
  /** @defaultValue process.env.HOST, else '127.0.0.1' */
  host?: string;
  /**
   * Largest request body accepted; larger answers 413.
   * @defaultValue Number(process.env.ES_MAX_BODY_BYTES), else 1048576
   */
  maxBodyBytes?: number;
  /**
   * Drain and exit on SIGTERM/SIGINT (and when the supervising parent disconnects). The generated replica entry
   * turns this on; in-process use (tests, embedding) leaves it off and calls `close()`.
   * @defaultValue false
   */
  handleSignals?: boolean;
  /** @defaultValue a pino logger named after the function, level from LOG_LEVEL (else 'info') */
  logger?: Logger;
}

export interface RunningFunction {
  readonly port: number;
  readonly server: Server;
  /** Requests being handled right now. */
  inFlight(): number;
  /** Stops accepting, waits for in-flight requests (at most `timeoutMs`), closes. Resolves true if drained. */
  close(timeoutMs?: number): Promise<boolean>;
}

/** Message the replica sends its supervisor over IPC (see services/runtime/supervisor.ts). */
export type ReplicaMessage =
  | { type: 'es:listening'; port: number }
  | { type: 'es:ready' }
  | { type: 'es:draining' }
  | DirectLoadMessage;

const DEFAULT_MAX_BODY = 1024 * 1024;

function numberFromEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) ? n : undefined;
}

function send(message: ReplicaMessage): void {
  if (process.send && process.connected) process.send(message);
}

export async function serve(fn: FunctionDefinition | Handler, options: ServeOptions = {}): Promise<RunningFunction> {
  const def = asDefinition(fn);
  const name = def.options.name ?? process.env.ES_FUNCTION_NAME ?? 'function';
  const namespace = process.env.ES_FUNCTION_NAMESPACE ?? 'default';
  const logger = options.logger ?? pino({ name, level: process.env.LOG_LEVEL ?? 'info' });
  const timeoutSeconds = numberFromEnv('ES_FUNCTION_TIMEOUT_SECONDS');
  const inv: Invoker = {
    name,
    namespace,
    logger,
    timeoutMs: def.options.timeoutMs ?? (timeoutSeconds ? timeoutSeconds * 1000 : 300_000),
    replyType: def.options.replyType,
    replySource: def.options.source ?? `/functions/${name}`,
  };
  const maxBody = options.maxBodyBytes ?? numberFromEnv('ES_MAX_BODY_BYTES') ?? DEFAULT_MAX_BODY;
  let ready = false;
  let draining = false;
  let inFlight = 0;
  let idle: (() => void) | undefined;

  const write = (res: ServerResponse, answer: Answer): void => {
    if (res.destroyed) return;
    if (draining) answer.headers.connection = 'close';
    // An explicit length spares chunked framing, and the gateway relays it unchanged.
    answer.headers['content-length'] = String(answer.body?.length ?? 0);
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse, body: Buffer | undefined, raw: boolean): void => {
    inFlight++;
    const abort = new LazyAbort();
    res.once('close', () => {
      if (!res.writableFinished) abort.abort(new Error('caller closed the connection'));
    });
    const path = req.url ?? '/';
    const answer = raw
      ? invokeHttp(def, inv, { method: req.method ?? 'GET', path, headers: req.headers, body, abort })
      : invoke(def, inv, { headers: req.headers, body, path, abort });
    answer
      .then((answer) => write(res, answer))
      .catch((err: unknown) => write(res, errorAnswer(500, err instanceof Error ? err.message : String(err))))
      .finally(() => {
        inFlight--;
        if (inFlight === 0) idle?.();
      });
  };

  const server = createServer((req, res) => {
    if (handed.take(req, res)) return;
    const url = req.url ?? '/';
    if (url === '/healthz' || url.startsWith('/healthz?')) {
      const ok = ready && !draining;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(ok ? '{"status":"ready"}' : `{"status":"${draining ? 'draining' : 'starting'}"}`);
      return;
    }
    // Raw routes answer even before `init` ends, so a function can serve its own health checks while loading.
    const raw = def.options.http !== undefined && !isCloudEventRequest(req.method, req.headers);
    if (req.method !== 'POST' && !raw) {
      write(
        res,
        errorAnswer(405, `method ${req.method} not allowed: POST a CloudEvent`, 'ES_ERR_METHOD_NOT_ALLOWED', {
          allow: 'POST',
        }),
      );
      req.resume();
      return;
    }
    if (!ready && !raw) {
      write(res, errorAnswer(503, 'function is not ready yet', 'ES_ERR_NOT_READY', { 'retry-after': '1' }));
      req.resume();
      return;
    }
    const tooLarge = () => {
      res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ error: `request body larger than ${maxBody} bytes`, code: 'ES_ERR_BODY_TOO_LARGE' }));
    };
    const declared = Number(req.headers['content-length']);
    if (declared > maxBody) {
      tooLarge();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let rejected = false;
    req.on('data', (chunk: Buffer) => {
      if (rejected) return;
      size += chunk.length;
      if (size > maxBody) {
        rejected = true;
        chunks.length = 0;
        tooLarge();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (rejected) return;
      onRequest(req, res, size === 0 ? undefined : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size), raw);
    });
  });
  const handed = new HandedConnections(server, send);
  // Longer than any client's idle timeout (undici: 4 s), so the client, never the server, closes idle sockets
  // and a request is never written into a socket the server is closing.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(
      options.port ?? numberFromEnv('PORT') ?? 8080,
      options.host ?? process.env.HOST ?? '127.0.0.1',
      () => {
        server.off('error', reject);
        resolve();
      },
    );
  });
  const port = (server.address() as AddressInfo).port;
  send({ type: 'es:listening', port });
  // A connection handed over while draining is still served: its first answer says `connection: close`.
  if (process.send) {
    process.on('message', (message: HandoffMessage, socket: unknown) => {
      if (message?.type === 'es:connection' && socket) handed.accept(message, socket as Socket);
    });
  }

  const close = (timeoutMs = inv.timeoutMs): Promise<boolean> => {
    if (!draining) {
      draining = true;
      send({ type: 'es:draining' });
      server.close();
      server.closeIdleConnections();
    }
    return new Promise<boolean>((resolve) => {
      const done = (drained: boolean) => {
        clearTimeout(timer);
        handed.close();
        server.closeAllConnections();
        resolve(drained);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      if (inFlight === 0) done(true);
      else idle = () => done(true);
    });
  };

  if (options.handleSignals) {
    const drainAndExit = (why: string) => {
      if (draining) return;
      logger.info({ why, inFlight }, 'draining');
      void close().then((drained) => {
        if (!drained) logger.warn({ inFlight }, 'drain timed out, exiting with requests in flight');
        logger.flush?.();
        process.exit(drained ? 0 : 1);
      });
    };
    process.once('SIGTERM', () => drainAndExit('SIGTERM'));
    process.once('SIGINT', () => drainAndExit('SIGINT'));
    // The supervisor died without stopping us: do not linger as an orphan holding a port.
    process.once('disconnect', () => drainAndExit('supervisor disconnected'));
  }

  if (def.options.init) {
    try {
      await def.options.init({ name, namespace, logger });
    } catch (err) {
      logger.error({ err }, 'init failed');
      await close(0);
      throw err;
    }
  }
  ready = true;
  send({ type: 'es:ready' });
  logger.info({ port, namespace }, 'function ready');
  return { port, server, inFlight: () => inFlight, close };
}
