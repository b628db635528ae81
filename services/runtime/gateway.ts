/**
 * The function gateway: `http://127.0.0.1:8081/{ns}/{name}/...` (DESIGN §5 "Addresses"), the HTTP face of the
 * activator. It only parses the request line, checks the body size and hands the request to the activator, which
 * balances it over ready replicas (or buffers it while there are none) and relays the answer.
 *
 * It sits on the hot path of every HTTP call to a function, so it is a raw node:http server with no framework, and
 * the answer is written to the client as the activator receives it (a `ResponseSink`: no stream, promise or
 * AbortSignal per request). The request body is read whole first: a request refused by a replica that never ran it
 * is sent again to another one. The in-process path (the router in the embedded platform) calls the activator
 * directly and skips the gateway.
 *
 * When the activator is out of a function's path, a new connection for it does not stay here at all: the gateway
 * reads its first request's head and hands the socket to a replica (first-bytes.ts, `Activator.handoff`,
 * functions/sdk/handoff.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NO_HANDOFF_HEADER } from '../../functions/sdk/handoff.ts';
import { type Activator, errorResponse } from '../activator/activator.ts';
import { headersFromRaw, type RelayHandle, type ResponseSink } from '../activator/relay.ts';
import { ElasticServingError } from '../core/errors.ts';
import { interceptConnections } from './first-bytes.ts';

export interface GatewayOptions {
  activator: Pick<Activator, 'relay' | 'has'> & Partial<Pick<Activator, 'handoff'>>;
  /** @defaultValue 8081 */
  port?: number;
  /** @defaultValue '127.0.0.1' */
  host?: string;
  /** Largest request body forwarded; larger answers 413. @defaultValue 33554432 */
  maxBodyBytes?: number;
  /**
   * Age after which a connection handed to a replica is closed by its next answer, so clients reconnect and spread
   * over replicas added since. @defaultValue 5000
   */
  handoffMaxAgeMs?: number;
}

export interface Gateway {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  close(): Promise<void>;
}

const DROPPED_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding']);

function sendError(res: ServerResponse, err: unknown, closeConnection = false): void {
  if (res.headersSent) return;
  const r = errorResponse(err);
  if (closeConnection) r.headers.connection = 'close';
  res.writeHead(r.statusCode, r.headers);
  res.end(r.body);
}

/** The declared body size, from the raw headers (reading `req.headers` would build the whole object). */
function contentLength(raw: readonly string[]): number {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 14 && name.toLowerCase() === 'content-length') return Number(raw[i + 1]);
  }
  return Number.NaN;
}

/** A percent-decoded path segment; undefined when malformed (decodeURIComponent would throw out of the server). */
function decodeSegment(segment: string): string | undefined {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

interface Target {
  namespace: string;
  name: string;
  /** `/{ns}/{name}` as written in the request. */
  prefix: string;
  /** The path on the replica, query included. */
  rest: string;
}

/** `/{ns}/{name}[/rest][?query]` taken apart, or the error to answer. */
function splitTarget(url: string): Target | ElasticServingError {
  const second = url.indexOf('/', 1);
  let nameEnd = url.length;
  if (second !== -1) {
    const third = url.indexOf('/', second + 1);
    const query = url.indexOf('?', second + 1);
    if (third !== -1) nameEnd = third;
    if (query !== -1 && query < nameEnd) nameEnd = query;
  }
  if (url.charCodeAt(0) !== 47 || second <= 1 || nameEnd <= second + 1)
    return new ElasticServingError('ES_ERR_NOT_FOUND', 'use /{namespace}/{function}/…');
  const namespace = decodeSegment(url.slice(1, second));
  const name = decodeSegment(url.slice(second + 1, nameEnd));
  if (namespace === undefined || name === undefined)
    return new ElasticServingError('ES_ERR_BAD_REQUEST', 'malformed percent-encoding in the path');
  let rest = url.slice(nameEnd);
  if (rest === '' || rest.charCodeAt(0) === 63 /* ? */) rest = `/${rest}`;
  return { namespace, name, prefix: url.slice(0, nameEnd), rest };
}

/** Writes a replica's answer to the client as it arrives, with the client's backpressure. */
class ClientAnswer implements ResponseSink {
  readonly res: ServerResponse;
  handle: RelayHandle | undefined;
  #resume: (() => void) | undefined;
  /** The replica's headers could not be written: the answer was replaced by an error. */
  #broken = false;
  /** Body bytes still to come by the replica's content-length (-1 when it has none). */
  #left = -1;
  #ended = false;

  constructor(res: ServerResponse) {
    this.res = res;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): void {
    this.#resume = resume;
    try {
      const headers = headersFromRaw(rawHeaders, DROPPED_RESPONSE_HEADERS);
      const length = headers['content-length'];
      if (typeof length === 'string') this.#left = Number(length);
      this.res.writeHead(statusCode, headers);
    } catch (err) {
      this.#broken = true;
      sendError(
        this.res,
        new ElasticServingError('ES_ERR_BACKEND_UNAVAILABLE', `unusable answer: ${(err as Error).message}`),
      );
      this.handle?.abort();
    }
  }

  onData(chunk: Buffer): boolean {
    if (this.#broken) return true;
    if (chunk.length === this.#left) {
      // The last piece ends the answer at once (headers included when it is the only one) instead of leaving the
      // write corked until the end of the tick.
      this.#ended = true;
      this.res.end(chunk);
      return true;
    }
    if (this.#left > 0) this.#left -= chunk.length;
    if (this.res.write(chunk)) return true;
    this.res.once('drain', this.#resume!);
    return false;
  }

  onComplete(): void {
    if (!this.#broken && !this.#ended) this.res.end();
  }

  onError(err: ElasticServingError, answered: boolean): void {
    if (this.#broken) return;
    if (answered) this.res.destroy();
    else sendError(this.res, err);
  }

  /** The client went away before its answer was written: the request leaves the queue or its call is cut. */
  readonly onClose = (): void => {
    if (!this.res.writableFinished) this.handle?.abort();
  };
}

export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const { activator } = options;
  const maxBody = options.maxBodyBytes ?? 32 * 1024 * 1024;
  const tooLarge = () => new ElasticServingError('ES_ERR_BODY_TOO_LARGE', `request body larger than ${maxBody} bytes`);

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const target = splitTarget(req.url ?? '/');
    if (target instanceof ElasticServingError) {
      sendError(res, target);
      req.resume();
      return;
    }
    const { namespace, name, rest: path } = target;
    if (!activator.has(namespace, name)) {
      sendError(res, new ElasticServingError('ES_ERR_NOT_FOUND', `no function ${namespace}/${name}`));
      req.resume();
      return;
    }
    if (contentLength(req.rawHeaders) > maxBody) {
      sendError(res, tooLarge(), true);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let rejected = false;
    req.on('data', (c: Buffer) => {
      if (rejected) return;
      size += c.length;
      if (size > maxBody) {
        rejected = true;
        sendError(res, tooLarge(), true);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (rejected) return;
      const body = size === 0 ? undefined : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
      const answer = new ClientAnswer(res);
      // 'close' comes once per response: `on` spares the wrapper `once` allocates.
      res.on('close', answer.onClose);
      answer.handle = activator.relay(
        namespace,
        name,
        { method: req.method ?? 'GET', path, headers: req.rawHeaders, body },
        answer,
      );
    });
  };

  const server = createServer(handle);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const host = options.host ?? '127.0.0.1';
  let url = '';
  const handoff = activator.handoff?.bind(activator);
  const maxAgeMs = options.handoffMaxAgeMs ?? 5000;
  if (handoff) {
    interceptConnections(server, (socket, head, first) => {
      if (first.hasHeader(NO_HANDOFF_HEADER)) return false;
      const target = splitTarget(first.target);
      if (target instanceof ElasticServingError) return false;
      return handoff(target.namespace, target.name, socket, {
        type: 'es:connection',
        head: head.toString('latin1'),
        prefix: target.prefix,
        gateway: url,
        maxAgeMs,
      });
    });
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8081, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    url,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Also resolves when `close` never comes: node waits for every replica that was handed a connection to say
        // it has closed them all, and never hears it from one that has exited. Those connections are not ours.
        setTimeout(() => {
          server.closeAllConnections();
          resolve();
        }, 1000).unref();
      }),
  };
}
