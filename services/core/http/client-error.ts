import { STATUS_CODES } from 'node:http';
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
  const body = JSON.stringify({ error: reason, code: errorCode });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Content-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
