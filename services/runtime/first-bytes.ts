/**
 * Lets the gateway look at the first bytes of each new connection before its HTTP parser does, and give the
 * connection away (to a replica, functions/sdk/handoff.ts) instead of serving it. A connection kept is handed to
 * node:http's own connection handler with those bytes put back, so it is served exactly as before.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** The head of a connection's first request: the request target and whether a header is present. */
export interface FirstRequest {
  /** The request target as written (`/ns/name/path?query`). */
  target: string;
  /** Whether the header block contains the lowercase header `name`. */
  hasHeader(name: string): boolean;
}

/** Returns true when it took the socket (with `head`, the bytes read from it so far). */
export type ConnectionTaker = (socket: Socket, head: Buffer, first: FirstRequest) => boolean;

interface StreamHandle {
  readStart(): number;
  readStop(): number;
}

/**
 * The first request's line and headers when the first read holds them whole (it almost always does); undefined
 * otherwise, and the connection stays with the gateway.
 */
function firstRequest(head: Buffer): FirstRequest | undefined {
  const headersEnd = head.indexOf('\r\n\r\n');
  if (headersEnd === -1) return undefined;
  const lineEnd = head.indexOf('\r\n');
  const line = head.toString('latin1', 0, lineEnd);
  const from = line.indexOf(' ');
  const to = line.lastIndexOf(' ');
  if (from === -1 || to <= from + 1 || !line.startsWith('HTTP/1.', to + 1)) return undefined;
  return {
    target: line.slice(from + 1, to),
    hasHeader: (name) => {
      const at = head.indexOf(`\r\n${name}:`, lineEnd, 'latin1');
      return at !== -1 && at < headersEnd;
    },
  };
}

/** Puts `take` in front of `server`'s HTTP parser for every new connection. */
export function interceptConnections(server: Server, take: ConnectionTaker): void {
  // node:http registers its connection handler when the server is made; it is moved behind `take`.
  const [httpConnection] = server.listeners('connection') as ((socket: Socket) => void)[];
  if (!httpConnection) throw new Error('interceptConnections: the server has no HTTP connection handler');
  server.removeListener('connection', httpConnection);
  server.on('connection', (socket: Socket) => {
    // Until the first bytes come, an error or the client's end only closes the socket.
    const early = () => socket.destroy();
    socket.on('error', early);
    socket.once('end', early);
    socket.setTimeout(server.headersTimeout, early);
    socket.once('data', (chunk: Buffer) => {
      socket.off('error', early);
      socket.off('end', early);
      socket.setTimeout(0);
      // Read nothing more until the socket's new owner does: `pause()` alone keeps reading into this process's
      // buffer, where bytes sent after the socket would be lost. The handle's `reading` flag stays set, so that
      // reading what is buffered here does not start it again. (`_handle` is internal to node:net, but stable.)
      socket.pause();
      const handle = (socket as unknown as { _handle?: StreamHandle })._handle;
      handle?.readStop();
      const more = socket.readableLength > 0 ? (socket.read() as Buffer | null) : null;
      const head = more ? Buffer.concat([chunk, more]) : chunk;
      const first = firstRequest(head);
      if (first && take(socket, head, first)) return;
      socket.unshift(head);
      httpConnection.call(server, socket);
      handle?.readStart();
      socket.resume();
    });
  });
}
