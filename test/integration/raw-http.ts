import { connect } from 'node:net';

/** What came back for one raw request. */
export interface RawAnswer {
  /** HTTP status, or `undefined` when the server closed (or the timeout hit) before a full status line arrived. */
  status: number | undefined;
  /** Response headers, names lower-cased (later duplicates win). */
  headers: Record<string, string>;
  /** Response body (Content-Length or chunked framing; whatever arrived before close otherwise). */
  body: Buffer;
  /** How the exchange ended: a complete answer, the server closing first, a socket error, or our timeout. */
  end: 'answer' | 'closed' | 'error' | 'timeout';
  /** Socket error code, when `end` is `'error'` (or an error followed a complete answer). */
  errorCode?: string;
}

/** Options of {@link sendRaw}. */
export interface SendRawOptions {
  /**
   * Half-close our side after writing, so the server sees EOF (for truncated requests it would otherwise wait for).
   * @defaultValue false
   */
  halfClose?: boolean;
  /**
   * Give up after this long without a complete answer.
   * @defaultValue 5000
   */
  timeoutMs?: number;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

/** Parses as much of a response as `buf` holds; `complete` once its body framing is satisfied. */
function parse(buf: Buffer): { answer: Omit<RawAnswer, 'end'>; complete: boolean } | undefined {
  const headEnd = buf.indexOf(CRLFCRLF);
  if (headEnd === -1) return undefined;
  const lines = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!match) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = buf.subarray(headEnd + 4);
  const status = Number(match[1]);
  const answer = { status, headers, body: rest };
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) return { answer: { ...answer, body: Buffer.alloc(0) }, complete: true };
  if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    return { answer: { ...answer, body: rest.subarray(0, length) }, complete: rest.length >= length };
  }
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const chunks: Buffer[] = [];
    let at = 0;
    for (;;) {
      const lineEnd = rest.indexOf('\r\n', at);
      if (lineEnd === -1) return { answer: { ...answer, body: Buffer.concat(chunks) }, complete: false };
      const size = parseInt(rest.subarray(at, lineEnd).toString('latin1'), 16);
      if (Number.isNaN(size)) return { answer: { ...answer, body: Buffer.concat(chunks) }, complete: true };
      if (size === 0) return { answer: { ...answer, body: Buffer.concat(chunks) }, complete: true };
      if (rest.length < lineEnd + 2 + size + 2) return { answer: { ...answer, body: Buffer.concat(chunks) }, complete: false };
      chunks.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
  }
  return { answer, complete: false };
}

/**
 * Writes `bytes` as-is to a fresh TCP connection and reads one HTTP/1.x response: the way to send what an HTTP
 * client library refuses to produce (broken header bytes, bad chunking, garbage request lines).
 */
export function sendRaw(port: number, bytes: Buffer, options: SendRawOptions = {}): Promise<RawAnswer> {
  const timeoutMs = options.timeoutMs ?? 5000;
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let received = Buffer.alloc(0);
    let settled = false;
    let errorCode: string | undefined;
    const finish = (end: RawAnswer['end']) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const parsed = parse(received);
      if (parsed && (parsed.complete || end !== 'answer')) {
        resolve({ ...parsed.answer, end: parsed.complete ? 'answer' : end, ...(errorCode ? { errorCode } : {}) });
      } else {
        resolve({ status: undefined, headers: {}, body: received, end, ...(errorCode ? { errorCode } : {}) });
      }
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    socket.on('connect', () => {
      // The server may answer and close before we finish writing (header overflow); that EPIPE is not our result.
      socket.write(bytes, () => {
        if (options.halfClose) socket.end();
      });
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (parse(received)?.complete) finish('answer');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      errorCode = err.code;
      finish(parse(received)?.complete ? 'answer' : 'error');
    });
    socket.on('end', () => finish(parse(received)?.complete ? 'answer' : 'closed'));
    socket.on('close', () => finish(parse(received)?.complete ? 'answer' : 'closed'));
  });
}
