/**
 * Client connections the function gateway hands to this replica (services/runtime/gateway.ts).
 *
 * When the activator is out of a function's path (Knative's target-burst-capacity rule), the gateway reads the first
 * bytes of a new connection, and passes the socket over IPC, with those bytes, to a ready replica, which serves that
 * connection from then on: the requests on it skip the gateway hop, as Knative's requests go straight to the pods
 * once the activator steps out. The replica therefore does what the gateway did for them:
 * - strips the `/{namespace}/{name}` prefix the client addressed the gateway with;
 * - sends a request for another path (a client reusing the connection for another function) back to the gateway;
 * - records their time-averaged concurrency and count, and reports them to the supervisor every second, so the
 *   autoscaler still sees this load (the queue-proxy's part in Knative);
 * - answers `connection: close` once a connection is older than `maxAgeMs`, so that the client reconnects through
 *   the gateway and connections spread over replicas added since.
 */
import {
  Agent,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import { ConcurrencyMeter } from '../../services/activator/meter.ts';
import { errorAnswer } from './invoke.ts';

/** The gateway's IPC message that comes with a handed socket. */
export interface HandoffMessage {
  type: 'es:connection';
  /** The bytes the gateway read from the connection before handing it over (latin1). */
  head: string;
  /** `/{namespace}/{name}` as the client wrote it; stripped from the paths of the connection's requests. */
  prefix: string;
  /** The gateway's URL, where requests for other paths are sent. */
  gateway: string;
  /** Connection age after which an answer closes it. */
  maxAgeMs: number;
}

/** The replica's report of the load it served on handed connections since the previous one. */
export interface DirectLoadMessage {
  type: 'es:load';
  /** Time-averaged requests in flight over the report's interval. */
  concurrency: number;
  /** Requests that arrived in the interval. */
  requests: number;
}

/** A request header the gateway never hands off a connection for: the replica's own requests back to it. */
export const NO_HANDOFF_HEADER = 'x-es-no-handoff';

const REPORT_INTERVAL_MS = 1000;
/** Hop-by-hop fields not passed on when relaying; node:http frames the body again on each side. */
const REQUEST_HOP_BY_HOP = ['connection', 'keep-alive'];
const ANSWER_HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding'];

interface Handed {
  prefix: string;
  gateway: string;
  closesAt: number;
}

export class HandedConnections {
  readonly #server: Server;
  readonly #send: (m: DirectLoadMessage) => void;
  readonly #sockets = new WeakMap<Socket, Handed>();
  #agent: Agent | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** The activator's meter: the replica measures what the activator would have, had the requests passed it. */
  readonly #meter = new ConcurrencyMeter(performance.now());
  #reportedBusy = false;

  constructor(server: Server, send: (m: DirectLoadMessage) => void) {
    this.#server = server;
    this.#send = send;
  }

  /** Serves a socket the gateway handed over: the bytes it read first are put back before the HTTP parser reads. */
  accept(message: HandoffMessage, socket: Socket): void {
    this.#sockets.set(socket, {
      prefix: message.prefix,
      gateway: message.gateway,
      closesAt: performance.now() + message.maxAgeMs,
    });
    socket.unshift(Buffer.from(message.head, 'latin1'));
    this.#server.emit('connection', socket);
    socket.resume();
    this.#timer ??= setInterval(() => this.#report(), REPORT_INTERVAL_MS).unref();
  }

  /**
   * Takes a request that came on a handed connection (returns false for any other): strips the prefix and counts
   * it, or relays a request for another path to the gateway (returns true: the request is answered here).
   */
  take(req: IncomingMessage, res: ServerResponse): boolean {
    const handed = this.#sockets.get(req.socket);
    if (!handed) return false;
    const url = req.url ?? '/';
    const rest = url.slice(handed.prefix.length);
    // The function's own paths are the prefix itself and what goes on below it: `prefix/…`, `prefix?…`.
    if (!url.startsWith(handed.prefix) || !(rest === '' || rest[0] === '/' || rest[0] === '?')) {
      this.#relayToGateway(handed, req, res);
      return true;
    }
    req.url = rest[0] === '/' ? rest : `/${rest}`;
    if (performance.now() >= handed.closesAt) res.setHeader('connection', 'close');
    this.#meter.arrive(performance.now());
    res.once('close', () => this.#meter.leave(performance.now()));
    return false;
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#agent?.destroy();
  }

  /** Sends the interval's load; an idle replica sends one zero report after its last busy one, then none. */
  #report(): void {
    const { concurrency, requests } = this.#meter.take(performance.now());
    const busy = requests > 0 || concurrency > 0;
    if (busy || this.#reportedBusy) this.#send({ type: 'es:load', concurrency, requests });
    this.#reportedBusy = busy;
  }

  #relayToGateway(handed: Handed, req: IncomingMessage, res: ServerResponse): void {
    this.#agent ??= new Agent({ keepAlive: true });
    const headers: OutgoingHttpHeaders = { ...req.headers, [NO_HANDOFF_HEADER]: '1' };
    for (const h of REQUEST_HOP_BY_HOP) delete headers[h];
    const out = httpRequest(
      `${handed.gateway}${req.url ?? '/'}`,
      { method: req.method, headers, agent: this.#agent },
      (answer) => {
        const back = { ...answer.headers };
        for (const h of ANSWER_HOP_BY_HOP) delete back[h];
        res.writeHead(answer.statusCode ?? 502, back);
        answer.pipe(res);
      },
    );
    out.on('error', (err) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const answer = errorAnswer(502, `gateway unreachable: ${err.message}`, 'ES_ERR_BACKEND_UNAVAILABLE');
      res.writeHead(answer.status, { ...answer.headers, 'content-length': String(answer.body!.length) });
      res.end(answer.body);
    });
    req.pipe(out);
  }
}
