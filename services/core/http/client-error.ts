import { type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';

/** Why Node's HTTP parser refused a request, in words a client can act on. */
function describe(code: string | undefined): { status: number; reason: string; errorCode: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, reason: 'request headers exceed the size limit', errorCode: 'ES_ERR_HEADERS_TOO_LARGE' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, reason: 'request was not received in time', errorCode: 'ES_ERR_TIMEOUT' };
    case 'HPE_INVALID_CHUNK_SIZE':
      return { status: 400, reason: 'malformed chunked encoding', errorCode: 'ES_ERR_BAD_REQUEST' };
    case 'HPE_INVALID_HEADER_TOKEN':
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return { status: 400, reason: `malformed header (${code})`, errorCode: 'ES_ERR_BAD_REQUEST' };
    default:
      return {
        status: 400,
        reason: `malformed HTTP request (${code ?? 'parse error'})`,
        errorCode: 'ES_ERR_BAD_REQUEST',
      };
  }
}

/**
 * Replaces Node's bare 400/431 for requests its HTTP parser refuses (broken header bytes, bad chunked encoding,
 * oversized headers) with our JSON error body, so even these clients learn why. Use as fastify's clientErrorHandler.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, reason, errorCode } = describe(err.code);
  const answer = () => writeJsonAndClose(socket, status, { error: reason, code: errorCode });
  // A pipelined request broke while an earlier, complete one is still being answered: that answer goes first,
  // or the client would read our 400 as the answer to a request that was in fact accepted.
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (inFlight?.req.complete && !inFlight.writableFinished) {
    const afterInFlight = () => {
      const next = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
      if (next && next !== inFlight && next.req.complete && !next.writableFinished) next.once('finish', afterInFlight);
      else answer();
    };
    inFlight.once('finish', afterInFlight);
    inFlight.once('close', () => socket.destroyed || answer());
    return;
  }
  answer();
}

/** Writes a complete JSON answer straight to a socket (no ServerResponse exists) and closes it. */
export function writeJsonAndClose(
  socket: Socket,
  status: number,
  body: object,
  headers: Record<string, string> = {},
): void {
  if (socket.destroyed) return;
  const text = JSON.stringify(body);
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(text)}\r\n` +
        `Content-Type: application/json\r\n${extra}Connection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy();
}
